"""labsupport — the code behind Streaming Lab's notebooks, command line and tests.

One concern per module, named for what it does; layers from the bottom up, each using only
those below it (``tests/test_layers.py`` holds them):

1. **bottom** — ``config`` (every setting and path, ``LabPaths``, the window and watermark),
   ``schema`` (event and table schemas), ``contract`` (the event contract in plain Python),
   ``errors`` (``LabError``, failures in one line), ``durations``, ``net``, ``versions``,
   ``checkpoint`` (what a streaming checkpoint holds), ``machine`` (the operating system and
   memory, and what the lessons need of them), ``interpreter`` (can this Python run the lab?
   asked first by ``python -m labsupport`` and the producer), ``processes`` (is a pid alive, and
   the program the lab started?);
2. **runtime** — ``java``, ``jars``, ``bundle`` and ``bundle_wheels`` (the offline workshop
   bundle), ``broker`` (the embedded Kafka), ``cluster`` (three brokers and a Spark standalone
   cluster on this machine), ``topics`` (the topic, offsets, lag, every Kafka client),
   ``spark`` (the one Spark session builder);
3. **lesson code** — ``pipeline`` (pure DataFrame functions: decode, parse, validate, Bronze,
   Gold), ``predict`` (the late-data rule in plain Python), ``queries`` (the design's SQL
   checks), ``checks.core`` (the exercise-check framework);
4. **wiring** — ``runner`` (the streaming queries), ``observe`` (progress, freshness, lag,
   "where did my event go?"), ``live`` (a stream watched while it runs), ``charts``;
5. **lesson tools** — ``compare`` (predict, run, compare), ``output_modes``,
   ``pipeline_process`` (a pipeline you can kill), ``exactly_once``, ``idempotency``,
   ``maintenance``, ``checks.lessonNN`` (one module of checks per lesson), ``index``,
   ``score``, ``lesson`` (a notebook's workspace), ``preflight``;
6. **top** — ``commands``, ``cli``: ``python -m labsupport``.

The producer (``producer/``) stands beside it and uses only the bottom layer. Import the module
you need (``from labsupport.spark import get_spark``); importing the package starts nothing.
"""

__version__ = "0.1.0"
