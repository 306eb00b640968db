"""labsupport — the code behind Streaming Lab's notebooks, command line and tests.

Modules, from the bottom up (each uses only those above it in this list):

- ``config``, ``schema``, ``contract``, ``errors``, ``versions``: settings, the event schemas,
  the event contract's rules in plain Python, pinned versions;
- ``java``, ``jars``, ``broker``, ``topics``, ``spark``: the runtime (JVM jars, the embedded
  Kafka broker, the topic, the one Spark session builder);
- ``pipeline``: the lesson code, pure DataFrame functions (decode, parse, validate, Bronze, Gold);
- ``runner``, ``observe``, ``live``, ``queries``: the streaming queries; progress, watermark and
  "where did my event go?"; a stream watched while it runs; the design's SQL checks;
- ``predict``: the late-data rule in plain Python (no Spark), to predict Gold before a run;
- ``demos``, ``operate``: lesson demonstrations; operating a pipeline (kills, lag, maintenance);
- ``checks``, ``lesson``, ``preflight``, ``notebooks``: exercise checks shared by notebooks and
  pytest; a notebook's workspace and score; the setup check; running the lessons in CI;
- ``commands``, ``cli``: ``python -m labsupport``.

Import the module you need (``from labsupport.spark import get_spark``); importing the package
itself starts nothing.
"""

__version__ = "0.1.0"
