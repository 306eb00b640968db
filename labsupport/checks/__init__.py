"""Exercise checks: the same functions grade a learner's notebook and run in pytest.

The package has one framework module and one module per lesson; nothing is re-exported here,
so every name has exactly one import path:

- :mod:`labsupport.checks.core` — the framework: :class:`~labsupport.checks.core.CheckResult`
  (a verdict with a message and a hint), ``NOT_ANSWERED`` and ``is_unanswered`` (the ``...``
  placeholder), the general checks ``check_true``, ``check_equal``, ``check_columns`` and
  ``check_dataframe``, and the answer helpers every lesson check uses to accept an answer:
  ``as_whole_number``, ``as_number``, ``as_offsets``, ``as_utc_naive`` and ``wrong_type`` (the
  one wording of "the answer is a number (int), got ...").
- :mod:`labsupport.checks.lesson00` … :mod:`labsupport.checks.lesson07` — the checks of the
  notebook with that number (``notebooks/03_bronze_ingestion.ipynb`` imports from ``lesson03``),
  each module listing its checks in ``__all__``.

Adding a check to lesson NN:

1. write ``check_<what>(answer, ...) -> CheckResult`` in ``lessonNN.py`` and add it to that
   module's ``__all__``; return ``CheckResult.not_answered(hint)`` for ``...``, coerce the answer
   with the ``as_*`` helpers of :mod:`~labsupport.checks.core` (a failure from ``wrong_type``
   when they return None), and never raise for a wrong answer;
2. add a test next to the lesson's others (``tests/test_checks.py`` for the framework and lesson
   00, ``tests/test_checks_01_03.py``, ``_04_05``, ``_06_07``) that rejects a wrong answer and the
   placeholder, and accepts the reference solution from ``notebooks/solutions``;
3. import it in the notebook: ``from labsupport.checks.lessonNN import check_<what>``.
"""
