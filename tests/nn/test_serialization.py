"""save/load: nested state dicts round trip exactly (dtypes, 0-d arrays, int keys, tuples,
None, non-finite floats), a model/optimizer checkpoint resumes, the write is atomic (a
crash mid-write leaves the old file), corrupt or missing files raise clear errors, and a
plain .npz of arrays (e.g. a converted PyTorch state dict) loads."""
import os
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad import serialization as ser
from minigrad.serialization import CheckpointError, load, save
from minigrad.testing import assert_close


def test_nested_round_trip(tmp_path):
    obj = {
        "model": OrderedDict([("w", mg.randn(3, 2)), ("n", mg.tensor(4))]),
        "opt": {"state": {0: {"step": 3, "m": np.arange(4.0)}},
                "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                  "nesterov": False, "name": None}]},
        "half": mg.ones(2).half(),
        "mask": np.array([True, False]),
        "scalar": np.float32(2.5),
        "zero_d": np.array(7, dtype=np.int64),
        "floats": [float("inf"), -float("inf"), 1e-300],
        "text": "epoch 3",
        "empty": mg.zeros(0, 3),
        "param": nn.Parameter(mg.ones(2)),
    }
    path = tmp_path / "ckpt.npz"
    save(obj, path)
    got = load(path)
    assert isinstance(got["model"], OrderedDict) and list(got["model"]) == ["w", "n"]
    assert_close(got["model"]["w"], obj["model"]["w"], rtol=0)
    assert got["model"]["n"].dtype == mg.int64 and got["model"]["n"].shape == ()
    st = got["opt"]["state"]
    assert list(st) == [0] and st[0]["step"] == 3 and np.array_equal(st[0]["m"], np.arange(4.0))
    assert isinstance(st[0]["m"], np.ndarray)
    assert got["opt"]["param_groups"] == obj["opt"]["param_groups"]
    assert isinstance(got["opt"]["param_groups"][0]["betas"], tuple)
    assert got["half"].dtype == mg.float16
    assert got["mask"].dtype == np.bool_
    assert got["scalar"] == np.float32(2.5) and got["scalar"].dtype == np.float32
    assert got["zero_d"].shape == () and got["zero_d"] == 7
    assert got["floats"][:2] == [float("inf"), -float("inf")] and got["floats"][2] == 1e-300
    assert got["text"] == "epoch 3" and got["empty"].shape == (0, 3)
    assert isinstance(got["param"], nn.Parameter) and got["param"].requires_grad
    # the arrays are plain .npy members: numpy reads them without minigrad
    with np.load(path) as z:
        assert "__minigrad__" in z.files and len(z.files) == 10  # 9 arrays + structure


def test_bfloat16_round_trip(tmp_path):
    if mg.bfloat16 is None:
        pytest.skip("ml_dtypes not installed")
    t = mg.tensor([1.0, 2.5, -3.0]).to(dtype=mg.bfloat16)
    save({"t": t}, tmp_path / "b.npz")
    got = load(tmp_path / "b.npz")["t"]
    assert got.dtype == mg.bfloat16 and got.float().tolist() == [1.0, 2.5, -3.0]


def test_model_and_optimizer_checkpoint_resumes_exactly(tmp_path):
    def make():
        mg.manual_seed(0)
        net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
        return net, optim.Adam(net.parameters(), lr=0.01)

    def step(net, opt, i):
        mg.manual_seed(100 + i)
        x = mg.randn(16, 4)
        loss = ((net(x) - x.sum(1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss)

    net, opt = make()
    for i in range(5):
        step(net, opt, i)
    save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 5},
         tmp_path / "c.npz")
    expected = [step(net, opt, i) for i in range(5, 10)]

    net2, opt2 = make()
    ck = load(tmp_path / "c.npz")
    net2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optimizer"])
    resumed = [step(net2, opt2, i) for i in range(ck["epoch"], 10)]
    assert resumed == expected


def test_atomic_write_survives_a_crash_mid_write(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save({"w": mg.ones(3)}, path)
    old_bytes = path.read_bytes()

    def crash(f, arrays):
        f.write(b"PK\x03\x04 half a zip file")  # some bytes reach the temporary file...
        raise KeyboardInterrupt("power cut")  # ...then the process dies

    monkeypatch.setattr(ser, "_write_npz", crash)
    with pytest.raises(KeyboardInterrupt):
        save({"w": mg.zeros(3)}, path)
    assert path.read_bytes() == old_bytes  # the old checkpoint is intact
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file is left
    monkeypatch.undo()
    assert load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_save_replaces_via_rename(tmp_path, monkeypatch):
    """The destination is only ever touched by os.replace of a complete, fsynced file."""
    calls = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace",
                        lambda a, b: calls.append(("replace", os.path.dirname(a) ==
                                                   os.path.dirname(b))) or real_replace(a, b))
    save({"a": mg.ones(1)}, tmp_path / "x.npz")
    assert calls[0] == "fsync" and calls[1] == ("replace", True)


def test_corrupt_missing_and_foreign_files(tmp_path):
    path = tmp_path / "m.npz"
    save({"w": mg.randn(100)}, path)
    data = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="trunc.npz.*not a valid checkpoint \\(corrupt, "
                                              "truncated, or not an .npz archive\\)"):
        load(tmp_path / "trunc.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(CheckpointError, match="not a valid checkpoint"):
        load(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="load: no such file: .*nope.npz"):
        load(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({}, tmp_path / "no_dir" / "x.npz")
    with pytest.raises(TypeError, match="cannot save an object of type object at "
                                        "obj\\['bad'\\]"):
        save({"bad": object()}, tmp_path / "y.npz")
    assert not (tmp_path / "y.npz").exists()
    np.savez(tmp_path / "pickled.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(CheckpointError):  # load never unpickles
        load(tmp_path / "pickled.npz")


def test_plain_npz_loads_as_flat_state_dict(tmp_path):
    lin = nn.Linear(3, 2)
    np.savez(tmp_path / "plain.npz", weight=np.ones((2, 3), np.float32),
             bias=np.zeros(2, np.float32))
    sd = load(tmp_path / "plain.npz")
    assert set(sd) == {"weight", "bias"} and isinstance(sd["weight"], mg.Tensor)
    lin.load_state_dict(sd)
    assert np.all(lin.weight.numpy() == 1)


def test_torch_state_dict_as_npz_loads(tmp_path):
    torch = pytest.importorskip("torch")
    tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    np.savez(tmp_path / "t.npz", **{k: v.numpy() for k, v in tnet.state_dict().items()})
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    net.load_state_dict(load(tmp_path / "t.npz"))
    assert_close(net[0].weight, tnet[0].weight.detach().numpy(), rtol=0)


def test_file_objects_and_map_location(tmp_path):
    import io

    buf = io.BytesIO()
    save({"w": mg.arange(3.0)}, buf)
    buf.seek(0)
    assert load(buf, map_location="cpu")["w"].tolist() == [0.0, 1.0, 2.0]


# ----------------------------------------------------------------- PyTorch parity audit


def test_numpy_non_finite_float_scalars_round_trip(tmp_path):
    # NumPy 2 reprs np.float64(nan) as "np.float64(nan)": the file used to be unreadable
    obj = {"best": np.float64("inf"), "worst": np.float64("-inf"), "last": np.float64("nan"),
           "f32": np.float32("nan"), "ok": np.float64(0.5)}
    save(obj, tmp_path / "c.npz")
    out = load(tmp_path / "c.npz")
    assert out["best"] == np.inf and out["worst"] == -np.inf and np.isnan(out["last"])
    assert np.isnan(out["f32"]) and out["f32"].dtype == np.float32 and out["ok"] == 0.5


def test_sparse_tensors_round_trip(tmp_path):
    v = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    coo = mg.sparse_coo_tensor([[0, 2, 0], [1, 1, 1]], v, (3, 2))  # (0, 1) twice
    hybrid = mg.sparse_coo_tensor([[1, 0]], [[1.0, 2.0], [3.0, 4.0]], (3, 2))
    csr = mg.sparse_csr_tensor([0, 2, 2, 3], [0, 2, 1], [1.0, 2.0, 3.0], (3, 3),
                               dtype=mg.float64)
    save({"coo": coo, "hybrid": hybrid, "csr": csr}, tmp_path / "s.npz")
    out = load(tmp_path / "s.npz")
    assert out["coo"].layout == "sparse_coo" and out["coo"].nnz == 3  # duplicates kept
    assert out["coo"].to_dense().tolist() == [[0.0, 4.0], [0.0, 0.0], [0.0, 2.0]]
    assert out["coo"].values().requires_grad and out["coo"].indices().tolist() == [
        [0, 2, 0], [1, 1, 1]]
    assert out["hybrid"].dense_dim() == 1
    assert out["hybrid"].to_dense().tolist() == [[3.0, 4.0], [1.0, 2.0], [0.0, 0.0]]
    assert out["csr"].layout == "sparse_csr" and out["csr"].dtype == mg.float64
    assert out["csr"].crow_indices().tolist() == [0, 2, 2, 3]
    assert out["csr"].to_dense().tolist() == [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0],
                                              [0.0, 3.0, 0.0]]


def test_foreign_zip_archives_are_refused_clearly(tmp_path):
    import zipfile

    # a torch.save file is a zip of pickles; numpy.load handed its members back as bytes
    with zipfile.ZipFile(tmp_path / "t.pt", "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("archive/version", b"3\n")
    with pytest.raises(CheckpointError, match="t.pt' is a PyTorch checkpoint \\(torch.save\\)"):
        load(tmp_path / "t.pt")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", b"hello")
    with pytest.raises(CheckpointError, match="member 'readme.txt' is not a .npy file"):
        load(tmp_path / "other.zip")


def test_corrupt_compressed_npz_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, w=np.arange(10000.0))
    raw = bytearray(path.read_bytes())
    raw[60] ^= 0xFF  # the start of the member's deflate stream: zlib.error
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="not a valid checkpoint"):
        load(path)


def test_load_accepts_weights_only(tmp_path):
    save({"w": mg.ones(2)}, tmp_path / "w.npz")
    for flag in (True, False, None):
        assert load(tmp_path / "w.npz", weights_only=flag)["w"].tolist() == [1.0, 1.0]


def test_torch_save_file_is_refused_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match="PyTorch checkpoint"):
        load(tmp_path / "t.pt")


def test_a_file_that_is_no_archive_gets_no_pickle_advice(tmp_path):
    """NumPy suggests allow_pickle= for a non-zip file; minigrad never unpickles, so its
    error says what is wrong instead."""
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(mg.serialization.CheckpointError, match="it is not a zip archive") as e:
        mg.load(path)
    assert "allow_pickle" not in str(e.value)


def test_a_bad_map_location_is_named_before_the_file_is_read(tmp_path):
    path = tmp_path / "w.npz"
    mg.save({"w": mg.ones(2)}, path)
    with pytest.raises(ValueError, match="load: map_location: unknown device 'tpu'"):
        mg.load(path, map_location="tpu")
    assert mg.load(path, map_location="cpu")["w"].device == "cpu"
