// safetensors (Hugging Face's tensor file format), read and written without
// any unpickling and with every header field checked before it is trusted:
//
//   [8 bytes: u64 little-endian N][N bytes: JSON header][data]
//   header: { "__metadata__"?: {string: string},
//             name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] } }
//   offsets are relative to the data section, which the tensors tile exactly.
//
// A malformed or truncated file is a GermError ERR_FORMAT naming the problem,
// never an out-of-bounds read. Files are read with positioned reads (only the
// tensors asked for), and written atomically (atomic.ts: a temporary file in the
// same folder, flushed, then renamed over the target), so a crash mid-save leaves
// the old file whole and no temporary file outlives its writer.
import type { FileHandle } from 'node:fs/promises';
import { type DType, describeValue, optionsArg } from '../dtype';
import { GermError, invalidArgument } from '../errors';
import { type TensorOptions, cast, tensor } from '../ops';
import { type Tensor, tensorArg } from '../tensor';
import { AtomicWriter } from './atomic';
import { openRegularFile } from './text';

/** The dtypes safetensors names, with their element sizes. */
const ELEMENT_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};
/** Those germ holds natively, and their germ names. */
const TO_GERM: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16', I8: 'i8', I32: 'i32', U8: 'u8' };
const FROM_GERM: Record<DType, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i8: 'I8', i32: 'I32', u8: 'U8' };

/** The safetensors reference implementation refuses headers above 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  /** The file's dtype name: 'F32', 'BF16', ... */
  dtype: string;
  shape: number[];
  /** Byte range within the file. */
  begin: number;
  end: number;
}

function bad(file: string, why: string): GermError {
  return new GermError(`safetensors ${file}: ${why}`, 'ERR_FORMAT');
}

/** Parses and validates a header against the file size. Exported for tests of the checks. */
export function parseSafetensorsHeader(file: string, fileSize: number, prefix: Uint8Array,
  headerBytes: Uint8Array): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  for (const [name, v] of [['prefix', prefix], ['headerBytes', headerBytes]] as const)
    if (!(v instanceof Uint8Array)) throw invalidArgument(`parseSafetensorsHeader: ${name} must be a Uint8Array, got ${describeValue(v)}`);
  if (prefix.length < 8) throw invalidArgument(`parseSafetensorsHeader: prefix must hold the 8 length bytes, got ${prefix.length}`);
  const n = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  const dataStart = 8 + n;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw bad(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(file, 'header is not a JSON object');
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string'))
        throw bad(file, '__metadata__ must map strings to strings');
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof v !== 'object' || v === null) throw bad(file, `entry "${name}" is not an object`);
    if (typeof v.dtype !== 'string' || !(v.dtype in ELEMENT_BYTES)) throw bad(file, `"${name}" has unknown dtype ${JSON.stringify(v.dtype)}`);
    if (!Array.isArray(v.shape) || v.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw bad(file, `"${name}" has an invalid shape ${JSON.stringify(v.shape)}`);
    const off = v.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((o) => !Number.isSafeInteger(o) || o < 0) || off[0] > off[1])
      throw bad(file, `"${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    const numel = (v.shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== numel * ELEMENT_BYTES[v.dtype])
      throw bad(file, `"${name}" holds ${off[1] - off[0]} bytes but ${v.dtype} [${v.shape}] needs ${numel * ELEMENT_BYTES[v.dtype]}`);
    if (dataStart + off[1] > fileSize)
      throw bad(file, `"${name}" ends at byte ${dataStart + off[1]} of a ${fileSize}-byte file (truncated?)`);
    entries.set(name, { name, dtype: v.dtype, shape: v.shape as number[], begin: dataStart + off[0], end: dataStart + off[1] });
    ranges.push([off[0], off[1], name]);
  }
  // The tensors must tile the data section: no overlap (which would alias), no holes.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [b, e, name] of ranges) {
    if (b !== at) throw bad(file, b < at ? `"${name}" overlaps the tensor before it` : `a gap of ${b - at} bytes precedes "${name}"`);
    at = e;
  }
  if (dataStart + at !== fileSize) throw bad(file, `${fileSize - dataStart - at} bytes follow the last tensor`);
  return { entries, metadata };
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private handle: FileHandle | null,
    readonly entries: Map<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
  ) {}

  /**
   * Opens a file and validates its header; tensors are read on demand. A path
   * that is not a regular file (a FIFO, a folder) is ERR_INVALID_ARGUMENT.
   */
  static async open(file: string): Promise<SafetensorsFile> {
    const { handle, size } = await openRegularFile(file, 'safetensors');
    try {
      if (size < 8) throw bad(file, `${size} bytes: too short for the 8-byte header length`);
      const prefix = new Uint8Array(8);
      await handle.read(prefix, 0, 8, 0);
      const n = new DataView(prefix.buffer).getBigUint64(0, true);
      if (n > BigInt(Math.min(MAX_HEADER_BYTES, size - 8)))
        throw bad(file, `header length ${n} exceeds the ${size - 8} bytes after it (or the 100 MB limit)`);
      const header = new Uint8Array(Number(n));
      await handle.read(header, 0, header.length, 8);
      const { entries, metadata } = parseSafetensorsHeader(file, size, prefix, header);
      return new SafetensorsFile(file, handle, entries, metadata);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** The raw bytes of one tensor. */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entries.get(name);
    if (!e) throw new GermError(`safetensors ${this.path}: no tensor "${name}"`, 'ERR_INVALID_ARGUMENT');
    if (!this.handle) throw new GermError(`safetensors ${this.path}: file is closed`, 'ERR_DISPOSED');
    const buf = new Uint8Array(e.end - e.begin);
    const { bytesRead } = await this.handle.read(buf, 0, buf.length, e.begin);
    if (bytesRead !== buf.length) throw bad(this.path, `"${name}" was cut short while reading (file changed?)`);
    return buf;
  }

  /** One tensor, on a device, optionally cast (f32 in the file -> f16 on the GPU, say). */
  async read(name: string, options: TensorOptions = {}): Promise<Tensor> {
    const e = this.entries.get(name);
    const dt = e && TO_GERM[e.dtype];
    if (e && !dt) throw new GermError(`safetensors ${this.path}: "${name}" is ${e.dtype}, which germ does not hold`, 'ERR_DTYPE');
    const bytes = await this.readBytes(name);
    const view = dt === 'f32' ? new Float32Array(bytes.buffer) : dt === 'i32' ? new Int32Array(bytes.buffer)
      : dt === 'i8' ? new Int8Array(bytes.buffer) : dt === 'u8' ? bytes : new Uint16Array(bytes.buffer);
    const t = tensor(view, e!.shape, { dtype: dt, device: options.device });
    if (!options.dtype || options.dtype === dt) return t;
    const out = cast(t, options.dtype);
    t.dispose();
    return out;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Every tensor of a file, as a name -> Tensor map. */
export async function loadSafetensors(file: string, opts?: TensorOptions): Promise<Map<string, Tensor>> {
  const options = optionsArg(opts, 'loadSafetensors');
  const f = await SafetensorsFile.open(file);
  const out = new Map<string, Tensor>();
  try {
    for (const name of f.entries.keys()) out.set(name, await f.read(name, options));
    return out;
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    await f.close();
  }
}

/**
 * Writes tensors (any device) to a safetensors file atomically. Tensors are
 * laid out in name order, each 8-byte aligned by padding the header with
 * spaces, as the reference implementation does.
 */
export async function saveSafetensors(file: string, tensors: Record<string, Tensor>,
  meta?: Record<string, string>): Promise<void> {
  const op = 'saveSafetensors';
  if (typeof file !== 'string' || file === '') throw invalidArgument(`${op}: file must be a path, got ${describeValue(file)}`);
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors))
    throw invalidArgument(`${op}: tensors must be an object of name -> Tensor, got ${describeValue(tensors)}`);
  const metadata = optionsArg(meta, op, 'metadata');
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw invalidArgument(`${op}: metadata "${k}" must be a string, got ${describeValue(v)}`);
  const names = Object.keys(tensors).sort();
  for (const name of names) tensorArg(tensors[name], op, `tensors["${name}"]`);
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new GermError('safetensors: "__metadata__" is not a tensor name', 'ERR_INVALID_ARGUMENT');
    const t = tensors[name];
    const bytes = await t.bytes();
    header[name] = { dtype: FROM_GERM[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);

  const out = await AtomicWriter.open(file);
  try {
    for (const part of [prefix, json, ...blobs]) await out.write(part);
  } catch (e) {
    await out.abort();
    throw e;
  }
  await out.commit();
}
