// The BERT-encoder ops beside LayerNorm: the embedding row gather and the
// GEGLU epilogue of DNABERT-2's gated MLP.
#include <string>
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {

// "[i, j, k]": the multi-index of flat position `pos` in `shape`.
std::string index_str(int64_t pos, const Shape& shape) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? pos % shape[d] : 0;
    pos = shape[d] ? pos / shape[d] : 0;
  }
  return shape_str(idx);
}

GermError bad_id(int32_t id, int64_t pos, const Shape& ids_shape, const Shape& table_shape) {
  return GermError(ErrorCode::InvalidArgument,
                   "embedding: id " + std::to_string(id) + " at position " + std::to_string(pos) +
                       (ids_shape.size() > 1 ? " (index " + index_str(pos, ids_shape) + ")" : std::string()) +
                       " is out of range for a table of " + std::to_string(table_shape[0]) + " rows " +
                       shape_str(table_shape));
}

void check_table(const TensorPtr& table) {
  require_float("embedding", table);
  if (table->ndim() != 2)
    throw GermError(ErrorCode::Shape, "embedding: table must be [vocab, hidden], got " + shape_str(table->shape));
}

// ids: i32 on the table's device. `check`: the ids are unchecked, so the task
// looks for one out of range and fails the op with it.
TensorPtr gather(const TensorPtr& table_in, const TensorPtr& ids_in, bool check) {
  const TensorPtr table = contiguous(table_in), ids = contiguous(ids_in);
  const int64_t vocab = table->shape[0], hidden = table->shape[1], n = ids->numel();
  Shape out_shape = ids->shape;
  out_shape.push_back(hidden);
  Backend& be = backend_for(table->device());
  TensorPtr out = empty(be, table->dtype, out_shape);
  const kernels::EmbeddingArgs a{kd(table->dtype), out->data(), table->data(),
                                 static_cast<const int32_t*>(ids->data()), n, vocab, hidden, check};
  const Shape ids_shape = ids->shape, table_shape = table->shape;
  submit(be, storages({&table, &ids}), {out->storage}, [=](Backend& b) {
    if (!a.n) return;
    const int64_t pos = b.embedding(a);
    if (pos < 0) return;
    int32_t id = 0;
    b.copy_to_host(&id, a.ids + pos, sizeof id);
    throw bad_id(id, pos, ids_shape, table_shape);
  });
  return out;
}

// Row stride of x seen as rows of its last dim, when the last dim is
// contiguous and the leading dims step through memory as one; else -1.
int64_t row_stride(const TensorImpl& x) {
  const int64_t cols = x.shape.back();
  if (cols > 1 && x.strides.back() != 1) return -1;
  int64_t ld = -1, next = 0;
  for (int64_t d = x.ndim() - 2; d >= 0; --d) {
    if (x.shape[d] == 1) continue;
    if (ld < 0) {
      ld = x.strides[d];
      if (ld < cols) return -1;
    } else if (x.strides[d] != next) {
      return -1;
    }
    next = x.strides[d] * x.shape[d];
  }
  return ld < 0 ? cols : ld;
}

}  // namespace

TensorPtr embedding(const TensorPtr& table, const TensorPtr& ids) {
  require_same_device("embedding", {&table, &ids});
  check_table(table);
  require_dtype("embedding", ids, DType::I32, "ids");
  return gather(table, ids, true);
}

TensorPtr embedding(const TensorPtr& table, const std::vector<int32_t>& ids) {
  check_table(table);
  const int64_t n = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= table->shape[0]) throw bad_id(ids[i], i, {n}, table->shape);
  const TensorPtr dev_ids = from_host(ids.data(), ids.size() * sizeof(int32_t), DType::I32, {n}, table->device());
  return gather(table, dev_ids, false);
}

TensorPtr linear_geglu(const TensorPtr& x_in, const TensorPtr& w_in) {
  const char* op = "linearGeglu";
  require_same_device(op, {&x_in, &w_in});
  require_float(op, x_in);
  require_dtype(op, w_in, x_in->dtype, "w");
  if (x_in->ndim() < 1 || w_in->ndim() != 2 || w_in->shape[1] != x_in->shape.back() ||
      w_in->shape[0] % (2 * kGegluBlock) != 0)
    throw GermError(ErrorCode::Shape, "linearGeglu: x must be [..., H] and w [2 * I, H] with I a multiple of " +
                                          std::to_string(kGegluBlock) + ", got " + shape_str(x_in->shape) + " and " +
                                          shape_str(w_in->shape));
  const int64_t H = w_in->shape[1], two_i = w_in->shape[0], inner = two_i / 2;
  const TensorPtr x = contiguous(x_in), w = contiguous(w_in);
  const int64_t rows = H ? x->numel() / H : 0;
  Shape out_shape = x->shape;
  out_shape.back() = inner;
  Backend& be = backend_for(x->device());

  kernels::GemmGegluArgs g{linear_gemm_args(x->dtype, x->data(), w->data(), rows, two_i, H)};
  g.gemm.ldc = inner;
  if (rows > 0 && H > 0 && be.supports(g)) {
    TensorPtr out = empty(be, x->dtype, out_shape);
    g.gemm.c = out->data();
    submit(be, storages({&x, &w}), {out->storage}, [g](Backend& b) { b.gemm_geglu(g); });
    return out;
  }
  // Unfused: [rows, 2I] then GEGLU over blocks of [64 gate | 64 up] columns,
  // which is geglu's own [gate | up] layout at inner = 64.
  const TensorPtr gated = matmul(view(x, {rows, H}, {H, 1}, x->offset), w, nullptr, {false, true, 1.f});
  const int64_t blocks = rows * (inner / kGegluBlock);
  const TensorPtr act = geglu(view(gated, {blocks, 2 * kGegluBlock}, {2 * kGegluBlock, 1}, 0), nullptr);
  return view(act, out_shape, contiguous_strides(out_shape), 0);
}

TensorPtr geglu(const TensorPtr& x_in, const TensorPtr& bias_in) {
  const char* op = "geglu";
  require_same_device(op, {&x_in, &bias_in});
  require_float(op, x_in);
  if (x_in->ndim() < 1 || x_in->shape.back() % 2 != 0)
    throw GermError(ErrorCode::Shape, "geglu: x must be [..., 2 * inner] (an even last dim), got " +
                                          shape_str(x_in->shape));
  const int64_t width = x_in->shape.back(), inner = width / 2;
  if (bias_in) {
    if (bias_in->ndim() != 1 || bias_in->shape[0] != width)
      throw GermError(ErrorCode::Shape, "geglu: bias must be [" + std::to_string(width) + "] for x " +
                                            shape_str(x_in->shape) + ", got " + shape_str(bias_in->shape));
    require_dtype(op, bias_in, x_in->dtype, "bias");
  }
  // A row-strided view (e.g. a column slice) is read in place; anything
  // else is made contiguous first.
  const int64_t ld_in = row_stride(*x_in);
  const TensorPtr x = ld_in < 0 ? contiguous(x_in) : x_in;
  const int64_t ldx = ld_in < 0 ? width : ld_in;
  const TensorPtr bias = bias_in ? contiguous(bias_in) : nullptr;
  const int64_t rows = width ? x->numel() / width : 0;
  Shape out_shape = x->shape;
  out_shape.back() = inner;
  Backend& be = backend_for(x->device());
  TensorPtr out = empty(be, x->dtype, out_shape);
  const kernels::GegluArgs a{kd(x->dtype), out->data(), x->data(), ldx, bias ? bias->data() : nullptr, rows, inner};
  submit(be, storages({&x, &bias}), {out->storage}, [a](Backend& b) {
    if (a.rows && a.inner) b.geglu(a);
  });
  return out;
}

}  // namespace germ::ops
