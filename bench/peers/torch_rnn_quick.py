#!/usr/bin/env python3
"""PyTorch's LSTM and GRU training steps of bench/model_cases.h alone (torch_models.lstm_cases),
at 1 and 2 threads, as milliseconds per step: the quick peer of
`axon_bench_models --benchmark_filter='(lstm|gru)_step'`, run interleaved with it by hand
(bench/results/*-rnn/log.txt)."""
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from torch_models import lstm_cases  # noqa: E402
from torch_peer import timed  # noqa: E402

for threads in (1, 2):
    torch.set_num_threads(threads)
    for name, fn in lstm_cases(torch.device("cpu"), "eager"):
        print(f"{name}/pytorch/cpu/t{threads}: {timed(fn, torch.device('cpu'), min_time=2.0) / 1e3:.1f} ms")
