"""The op profiler: events per op forward and backward, self vs total time, labelled
regions, input shapes, the Chrome trace, and nothing left patched afterwards."""
import json

import pytest

import minigrad as mg
from minigrad.autograd.function import Function
from minigrad.autograd.profiler import profile, record_function


def _names(prof):
    return {e.key: e.count for e in prof.key_averages()}


def test_events_of_a_forward_and_backward():
    x = mg.randn(3, 4, requires_grad=True)
    with profile() as prof:
        y = (x * 2).exp().sum()
        y.backward()
    counts = _names(prof)
    assert counts["Mul"] >= 1 and counts["Exp"] == 1 and counts["Sum"] >= 1
    assert counts["ExpBackward"] == 1 and counts["SumBackward"] == 1
    assert counts["MulBackward"] == 1
    for e in prof.events:
        assert 0 <= e.self_time <= e.total_time + 1e-9
    avg = {e.key: e for e in prof.key_averages()}
    assert avg["ExpBackward"].cpu_time_total >= avg["ExpBackward"].self_cpu_time_total


def test_record_function_nests_and_shapes_are_recorded():
    x = mg.randn(2, 3)
    with profile(record_shapes=True) as prof:
        with record_function("block"):
            x.tanh().sum()

        @record_function("decorated")
        def f():
            return x * 3

        f()
    events = {e.name: e for e in prof.events}
    block = events["block"]
    inside = [e for e in prof.events if block.start <= e.start and e.end <= block.end
              and e is not block]
    assert {e.name for e in inside} >= {"Tanh", "Sum"}
    assert block.total_time >= sum(e.total_time for e in inside)
    assert "decorated" in events and events["Tanh"].shapes == ((2, 3),)
    grouped = prof.key_averages(group_by_input_shape=True)
    assert any(e.key == "Tanh" and e.input_shapes == ((2, 3),) for e in grouped)
    assert "Input Shapes" in grouped.table()


def test_table_trace_and_restoring(tmp_path):
    call = Function.__call__
    x = mg.randn(4, requires_grad=True)
    with profile() as prof:
        x.sigmoid().sum().backward()
        with pytest.raises(RuntimeError, match="already running"):
            with profile():
                pass
    assert Function.__call__ is call
    from minigrad.ops.activation import Sigmoid
    assert not hasattr(Sigmoid.backward, "__wrapped__")
    text = prof.key_averages().table(sort_by="count", row_limit=3)
    assert text.splitlines()[0].startswith("Name") and "Self CPU time total" in text
    assert len(text.splitlines()) == 2 + 3 + 1
    with pytest.raises(ValueError, match="cannot sort by"):
        prof.key_averages().table(sort_by="flops")
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    trace = json.loads(path.read_text())["traceEvents"]
    assert {"Sigmoid", "SigmoidBackward"} <= {t["name"] for t in trace}
    assert all(t["ph"] == "X" and t["dur"] >= 0 for t in trace)
    with record_function("outside any profiler"):       # a no-op
        mg.ones(1) + 1


def test_disabled_profiler_records_nothing():
    with profile(enabled=False) as prof:
        mg.ones(2).exp()
    assert prof.events == []
