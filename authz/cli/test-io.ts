/** Captures what a command prints, for tests that run commands in-process. */
import type { CommandIO } from './command-io.js';

export interface CapturedIO extends CommandIO {
  out: string;
  err: string;
}

export function captureIO(stdin = ''): CapturedIO {
  const io: CapturedIO = {
    out: '',
    err: '',
    stdout: (text) => {
      io.out += text;
    },
    stderr: (text) => {
      io.err += text;
    },
    readStdin: async () => stdin,
  };
  return io;
}
