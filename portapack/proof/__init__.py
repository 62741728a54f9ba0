"""The proof stage: run a project's examples in-process and under each artifact's own local runtime,
in its own environment, and compare the answers (``portapack test``, ``predict``, ``serve``)."""
