"""Experiment tools beside the research core: how fast a step runs and what
it costs (:mod:`~cagan.experiments.benchmark`,
:mod:`~cagan.experiments.flops`), and variants trained and scored side by
side (:mod:`~cagan.experiments.ablation`). ``peer_torch.py`` is the
PyTorch yardstick, run by its own interpreter, never imported."""
