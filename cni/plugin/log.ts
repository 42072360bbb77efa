// The plugin's log: stdout belongs to the CNI result, so lines go to the configured logFile
// (appended) or to stderr. Logging must never fail a call.
import { appendFileSync } from 'node:fs';

export type Log = (line: string) => void;

export function createLog(context: string, file: string | undefined, stderr: (text: string) => void): Log {
  return (line) => {
    const text = `${new Date().toISOString()} pillion-cni ${context}: ${line}\n`;
    if (file === undefined) {
      stderr(text);
      return;
    }
    try {
      appendFileSync(file, text, { mode: 0o600 });
    } catch {
      stderr(text);
    }
  };
}
