import type { SegueTask } from '../client/index.js';

/** How a wait shows itself on stderr: `update` on each change, `end` once. */
export interface ProgressDisplay {
  update(task: SegueTask): void;
  end(): void;
}

const BAR_WIDTH = 30;

/**
 * A bar redrawn in place (`\r`) when the stream is a terminal; otherwise one plain line per
 * change, which logs and pipes can read.
 */
export function progressDisplay(stream: NodeJS.WriteStream): ProgressDisplay {
  if (!stream.isTTY) {
    return {
      update: (task) => stream.write(`${task.id} ${task.status} ${task.progress}%\n`),
      end: () => {},
    };
  }
  let drawn = false;
  return {
    update(task) {
      const filled = Math.round((task.progress / 100) * BAR_WIDTH);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
      stream.write(`\r\x1b[K[${bar}] ${String(task.progress).padStart(3)}%  ${task.status}`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}
