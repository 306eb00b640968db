"""labsupport — the code behind Streaming Lab's notebooks, command line and tests.

Modules, from the bottom up (each uses only those above it in this list):

- ``config``, ``schema``, ``errors``, ``versions``: settings, the event contract, pinned versions;
- ``java``, ``jars``, ``broker``, ``topics``, ``spark``: the runtime (JVM jars, the embedded
  Kafka broker, the topic, the one Spark session builder);
- ``cli``: ``python -m labsupport``.

Import the module you need (``from labsupport.spark import get_spark``); importing the package
itself starts nothing.
"""

__version__ = "0.1.0"
