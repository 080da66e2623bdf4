// What the FASTA and CSV readers share: opening a file path or a Readable as a
// byte stream, gunzipped when asked (or when the path ends in .gz), and turning
// a gzip failure into a GermError ERR_FORMAT that names the input. And what the
// model loaders share: opening a regular file of bounded size (never a FIFO).
import { type Stats, constants, createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { type Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeValue } from '../dtype';
import { GermError, type GermErrorCode } from '../errors';

export interface TextInputOptions {
  /** The input's name, in error messages and for the defaults below; default: the path, or '<stream>'. */
  source?: string;
  /** Gunzip the bytes first; default: true when the name ends in .gz. */
  gzip?: boolean;
}

/** A readable byte (or string) stream over the input, and its name for messages. */
export function openText(input: string | Readable, options: TextInputOptions, op: string): { stream: Readable; name: string } {
  if (typeof input !== 'string' && typeof (input as Partial<Readable>)?.pipe !== 'function')
    throw new GermError(`${op}: input must be a file path or a Readable stream, got ${describeValue(input)}`, 'ERR_INVALID_ARGUMENT');
  const isPath = typeof input === 'string';
  const name = options.source ?? (isPath ? input : '<stream>');
  const raw = isPath ? createReadStream(input) : input;
  if (!(options.gzip ?? name.endsWith('.gz'))) return { stream: raw, name };
  // pipeline destroys the gunzip stream with the source's error, so a read
  // error (ENOENT ...) reaches whoever iterates the result.
  return { stream: pipeline(raw, createGunzip(), () => undefined), name };
}

/**
 * zlib's errors carry codes Z_DATA_ERROR, Z_BUF_ERROR, ...: those mean the bytes
 * are not gzip (ERR_FORMAT). A path that is a folder (EISDIR) or a loop of links
 * (ELOOP) is ERR_INVALID_ARGUMENT. Other system errors (ENOENT ...) pass as they are.
 */
export function readError(kind: string, name: string, e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('Z_'))
    return new GermError(`${kind} ${name}: not valid gzip data (${(e as Error).message})`, 'ERR_FORMAT');
  if (code === 'EISDIR') return new GermError(`${kind} ${name}: is a folder, not a file`, 'ERR_INVALID_ARGUMENT');
  if (code === 'ELOOP') return new GermError(`${kind} ${name}: ${(e as Error).message}`, 'ERR_INVALID_ARGUMENT');
  return e;
}

/**
 * The largest config.json and tokenizer.json a model folder's loaders read
 * (DNABERT-2's are 1 kB and 300 kB; the largest Hugging Face tokenizers some
 * tens of MB): for readJsonFile.
 */
export const MAX_CONFIG_BYTES = 16 * 2 ** 20;
export const MAX_TOKENIZER_BYTES = 256 * 2 ** 20;

/** What a path is when it is not a regular file, for messages. */
function notRegular(s: Stats): string | undefined {
  if (s.isFile()) return undefined;
  if (s.isDirectory()) return 'is a folder, not a file';
  if (s.isFIFO()) return 'is a FIFO (named pipe), not a regular file';
  if (s.isSocket()) return 'is a socket, not a regular file';
  return 'is a device, not a regular file';
}

/**
 * Opens a regular file for reading, for every loader of model files
 * (safetensors, config.json, tokenizer.json). A FIFO, folder, socket or device
 * is a GermError ERR_INVALID_ARGUMENT naming the path, at once: a FIFO is never
 * waited on (it is checked before opening, and opened non-blocking, so one
 * swapped in between cannot block either). A file over maxBytes is ERR_FORMAT;
 * a missing or unreadable one ERR_INVALID_ARGUMENT with the system's reason.
 * `what` starts each message: 'safetensors', 'config', ...
 */
export async function openRegularFile(file: string, what: string, maxBytes = Infinity): Promise<{ handle: FileHandle; size: number }> {
  const fail = (why: string, code: GermErrorCode = 'ERR_INVALID_ARGUMENT') => new GermError(`${what} ${file}: ${why}`, code);
  const check = (s: Stats): void => {
    const why = notRegular(s);
    if (why) throw fail(why);
    if (s.size > maxBytes) throw fail(`${s.size} bytes, more than the ${maxBytes} a ${what} file may have`, 'ERR_FORMAT');
  };
  const system = (e: unknown): GermError => fail((e as Error).message);
  check(await stat(file).catch((e: unknown) => Promise.reject(system(e))));
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: unknown) => Promise.reject(system(e)));
  try {
    const s = await handle.stat();
    check(s);
    return { handle, size: s.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** A regular file of at most maxBytes (openRegularFile's checks), parsed as JSON: invalid JSON is ERR_FORMAT. */
export async function readJsonFile(file: string, what: string, maxBytes: number): Promise<unknown> {
  const { handle, size } = await openRegularFile(file, what, maxBytes);
  let text: string;
  try {
    // One byte more than the size: a file that grew past maxBytes since is caught too.
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) throw new GermError(`${what} ${file}: more than the ${maxBytes} bytes a ${what} file may have`, 'ERR_FORMAT');
    text = buf.toString('utf8', 0, n);
  } catch (e) {
    throw e instanceof GermError ? e : new GermError(`${what} ${file}: ${(e as Error).message}`, 'ERR_INVALID_ARGUMENT');
  } finally {
    await handle.close();
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GermError(`${what} ${file}: not valid JSON (${(e as Error).message})`, 'ERR_FORMAT');
  }
}
