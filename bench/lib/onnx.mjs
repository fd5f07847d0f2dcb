// SPDX-License-Identifier: Apache-2.0
// A tiny hand-written protobuf encoder for the few ONNX messages the benchmark needs, so that
// onnxruntime-node (optional, not a dependency) can run the same ops from an in-memory model.
// Field numbers are from onnx/onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ...).

const FLOAT = 1, INT64 = 7;              // TensorProto.DataType
const ATTR_FLOAT = 1, ATTR_INT = 2;      // AttributeProto.AttributeType

function varint(n) {
  const out = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;            // two's complement, 10 bytes
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

function concat(parts) {
  const flat = parts.flat(Infinity).filter((p) => p != null);
  const len = flat.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of flat) { out.set(p, o); o += p.length; }
  return out;
}

const tag = (field, wire) => varint((field << 3) | wire);
/** A varint field. */
const vi = (field, n) => concat([tag(field, 0), varint(n)]);
/** A length-delimited field (string, bytes or nested message). */
function ld(field, payload) {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : concat([payload]);
  return concat([tag(field, 2), varint(bytes.length), bytes]);
}
/** A 32-bit float field. */
function f32(field, x) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return concat([tag(field, 5), b]);
}

// AttributeProto: name 1, f 2, i 3, type 20.
function attr(name, value) {
  if (Number.isInteger(value)) return concat([ld(1, name), vi(3, value), vi(20, ATTR_INT)]);
  return concat([ld(1, name), f32(2, value), vi(20, ATTR_FLOAT)]);
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
function node(opType, inputs, outputs, attrs = {}) {
  return concat([
    inputs.map((i) => ld(1, i)), outputs.map((o) => ld(2, o)), ld(3, `${opType}_${outputs[0]}`),
    ld(4, opType), Object.entries(attrs).map(([k, v]) => ld(5, attr(k, v))),
  ]);
}

// ValueInfoProto: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 -> dim_value 1.
function valueInfo(name, shape, elemType = FLOAT) {
  const dims = shape.map((d) => ld(1, vi(1, d)));
  return concat([ld(1, name), ld(2, ld(1, concat([vi(1, elemType), ld(2, concat(dims))])))]);
}

// TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian).
function int64Initializer(name, values) {
  const raw = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
  return concat([values.length > 0 ? vi(1, values.length) : null, vi(2, INT64), ld(8, name), ld(9, raw)]);
}

function floatInitializer(name, shape, data) {
  return concat([shape.map((d) => vi(1, d)), vi(2, FLOAT), ld(8, name),
    ld(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))]);
}

/**
 * A ModelProto (IR 7, opset 13) with one graph. `nodes` are [opType, inputs, outputs, attrs];
 * `inputs`/`outputs` are [name, shape]; `int64Inits` are [name, values]; `floatInits` are
 * [name, shape, Float32Array] (constant weights, which onnxruntime may prepack).
 */
export function buildModel({nodes, inputs, outputs, int64Inits = [], floatInits = []}) {
  // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
  const graph = concat([
    nodes.map((n) => ld(1, node(...n))), ld(2, 'bench'),
    int64Inits.map(([n, v]) => ld(5, int64Initializer(n, v))),
    floatInits.map(([n, sh, d]) => ld(5, floatInitializer(n, sh, d))),
    inputs.map(([n, s]) => ld(11, valueInfo(n, s))), outputs.map(([n, s]) => ld(12, valueInfo(n, s))),
  ]);
  // ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8 (domain 1, version 2).
  return concat([vi(1, 7), ld(2, 'afterburner-bench'), ld(7, graph), ld(8, concat([ld(1, ''), vi(2, 13)]))]);
}

/** Loads onnxruntime-node if it can be found: the project, then $ORT_NODE_DIR. Null otherwise. */
export async function loadOrt() {
  const errors = [];
  try {
    const m = await import('onnxruntime-node');
    return {ort: m.default ?? m, error: null};
  } catch (e) {
    errors.push(`import('onnxruntime-node'): ${e.message.split('\n')[0]}`);
  }
  if (process.env.ORT_NODE_DIR) {
    try {
      const {createRequire} = await import('module');
      const path = await import('path');
      const req = createRequire(path.join(path.resolve(process.env.ORT_NODE_DIR), 'noop.js'));
      return {ort: req('onnxruntime-node'), error: null};
    } catch (e) {
      errors.push(`ORT_NODE_DIR=${process.env.ORT_NODE_DIR}: ${e.message.split('\n')[0]}`);
    }
  }
  return {ort: null, error: errors.join('; ')};
}
