"""The differentiable ops. Each is a :class:`~minigrad.autograd.Function` whose
``forward`` works on arrays through ``xp`` and whose ``backward`` is written in Tensor
ops (so it can be differentiated again). The table of derivative rules, by module:

- :mod:`.elementwise`: + − × ÷ // % neg pow exp log log1p sqrt rsqrt abs sign sin cos erf
  clamp maximum minimum where cast, with PyTorch's type promotion (``promote``)
- :mod:`.activation`: relu leaky_relu elu gelu silu sigmoid tanh softplus
- :mod:`.reduction`: sum mean var std amax/amin max/min logsumexp softmax log_softmax cumsum
- :mod:`.shape`: reshape permute broadcast_to sum_to getitem scatter-add cat stack split
  pad flip repeat, and as indexing: gather roll index_select narrow unbind
- :mod:`.linalg`: matmul
"""
