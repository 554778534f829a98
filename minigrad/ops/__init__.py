"""The differentiable ops. Each is a :class:`~minigrad.autograd.Function` whose
``forward`` works on arrays through ``xp`` and whose ``backward`` is written in Tensor
ops (so it can be differentiated again). The table of derivative rules, by module:

- :mod:`.elementwise`: + − × ÷ // % neg pow exp expm1 exp2 log log1p log2 log10 sqrt rsqrt
  abs sign floor ceil round trunc frac sin cos tan erf clamp maximum minimum where
  nan_to_num cast, sinh cosh asin acos atan asinh acosh atanh erfc erfinv logit sinc atan2
  hypot logaddexp logaddexp2 xlogy copysign, and as compositions deg2rad rad2deg lerp
  addcmul addcdiv float_power true_divide (heaviside: no gradient), with PyTorch's type
  promotion (``promote``)
- :mod:`.activation`: relu leaky_relu elu gelu silu sigmoid tanh softplus
- :mod:`.reduction`: sum mean var std amax/amin max/min logsumexp softmax log_softmax cumsum
  cumprod prod norm, and as compositions nansum nanmean var_mean std_mean aminmax
- :mod:`.shape`: reshape permute broadcast_to sum_to getitem scatter-add cat stack split
  pad flip repeat, and as indexing: gather scatter scatter_add roll index_select narrow
  unbind
- :mod:`.sorting`: sort argsort topk kthvalue median cummax cummin (gathers: no rule of
  their own); searchsorted bucketize unique nonzero count_nonzero (integer results)
- :mod:`.manipulation`: movedim tile repeat_interleave atleast_nd h/v/dstack column_stack
  meshgrid rot90 diff take_along_dim index_add/copy/fill masked_select block_diag
  cartesian_prod combinations broadcast_tensors (compositions)
- :mod:`.indexing`: select and the *_scatter functions, take put index_put masked_scatter
  tensor_split/hsplit/vsplit/dsplit unfold diagflat (compositions), scatter_reduce and
  index_reduce (``ScatterReduce``), the sliding windows of ``Tensor.unfold`` (``Unfold``)
- :mod:`.statistics`: fmax fmin fmod frexp (own rules), quantile nanquantile nanmedian
  mode cov corrcoef renorm dist histc histogram bincount (compositions), bitwise and
  integer ops (no gradient)
- :mod:`.numerical`: trapezoid cumulative_trapezoid gradient (compositions)
- :mod:`.special`: lgamma digamma polygamma (each the next one's integral), mvlgamma,
  i0 i0e i1 i1e, igamma igammac (gradient in x)
- :mod:`.linalg`: matmul (mm bmm dot outer inner addmm baddbmm addmv) einsum diagonal /
  diagonal-scatter (diag diag_embed trace), and det slogdet inv solve cholesky qr eigh
  eigvalsh svd svdvals pinv lu; tril triu cross kron cdist mv vdot addr addbmm are
  compositions
"""
