// Atomic file writes, shared by saveSafetensors and the CLI's `-o` output:
// bytes go to a temporary file beside the target, named
//
//   .<target name>.<writer pid>.<8 hex digits>.tmp
//
// which is flushed (fsync) and renamed over the target only when complete, so
// a crash mid-write leaves the old file whole (or no file). Temporary files do
// not outlive their writer:
//   - an error: abort() removes it;
//   - SIGINT, SIGTERM or SIGHUP while a write is open, when no one else listens
//     for that signal: every open temporary file is removed, then the signal is
//     raised again with its default action, so the process still dies of it
//     (exit status 128 + signal number), as it would have without us. Where the
//     application listens for the signal itself, it decides; a process.exit()
//     that follows removes them (below);
//   - process exit with a write still open (process.exit(), an uncaught
//     exception): removed on 'exit';
//   - SIGKILL, a power cut: nothing runs, so opening a new write to a target
//     first sweeps that target's stale temporary files: names of exactly the
//     pattern above whose writer pid is no longer alive.
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { type FileHandle, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Temporary files of this process now open, removed on a fatal signal or exit. */
const live = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function removeLive(): void {
  for (const tmp of live) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener means the application handles this signal (a graceful
  // shutdown may want the write to finish): leave it alone; 'exit' cleans up.
  if (process.listenerCount(signal) > 1) return;
  removeLive();
  uninstall();
  // With no listener left, the default action applies: the process dies of the signal.
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', removeLive);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.removeListener('exit', removeLive);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary files that dead writers left beside `target`: only
 * names of exactly our pattern for this target, and only when their pid is not
 * a live process. Best effort: a folder that cannot be listed is left as is.
 */
export async function sweepStaleTemps(target: string): Promise<void> {
  const dir = path.dirname(target);
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(target))}\\.([1-9]\\d{0,9})\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (m && !alive(Number(m[1]))) await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

/** An open atomic write: write(), then commit() to put it in place, or abort() to drop it. */
export class AtomicWriter {
  private done = false;

  private constructor(readonly target: string, readonly tempPath: string, private readonly handle: FileHandle) {}

  /** Sweeps the target's stale temporary files and opens a new one beside it. */
  static async open(target: string): Promise<AtomicWriter> {
    await sweepStaleTemps(target);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(tmp, 'wx');
    live.add(tmp);
    install();
    return new AtomicWriter(target, tmp, handle);
  }

  /** Appends bytes or UTF-8 text; the next write waits for this one. */
  async write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.length;) at += (await this.handle.write(bytes, at, bytes.length - at)).bytesWritten;
  }

  /** Flushes to disk and renames over the target; on failure the temporary file is removed. */
  async commit(): Promise<void> {
    try {
      await this.handle.sync();
      await this.handle.close();
      await rename(this.tempPath, this.target);
      this.finish();
    } catch (e) {
      await this.abort();
      throw e;
    }
    // The rename itself survives a power cut once the folder is flushed too.
    const dir = await open(path.dirname(this.target), 'r').catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close().catch(() => undefined);
  }

  /** Drops what was written: closes and removes the temporary file. */
  async abort(): Promise<void> {
    if (this.done) return;
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
    this.finish();
  }

  private finish(): void {
    this.done = true;
    live.delete(this.tempPath);
    if (live.size === 0) uninstall();
  }
}
