import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const fontPath = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf');

/**
 * A drawtext filter for a watermark. The text is written to a file and read back with
 * expansion off, and the font is linked beside it, so the filter names only two fixed relative
 * files: no user text, and no path of this machine, ever enters the filter string. Run the
 * ffmpeg that uses it with `cwd: workDir`.
 */
export async function watermarkFilter(text: string, workDir: string, frameHeight: number): Promise<string> {
  await fs.writeFile(path.join(workDir, 'watermark.txt'), text, 'utf8');
  await fs.rm(path.join(workDir, 'watermark.ttf'), { force: true });
  await fs.symlink(fontPath, path.join(workDir, 'watermark.ttf'));
  const size = Math.max(12, Math.round(frameHeight * 0.035));
  const margin = Math.round(size * 0.9);
  return (
    `drawtext=fontfile=watermark.ttf:textfile=watermark.txt:expansion=none:fontsize=${size}:` +
    `fontcolor=white@0.6:shadowcolor=black@0.45:shadowx=${Math.max(1, Math.round(size / 14))}:shadowy=${Math.max(1, Math.round(size / 14))}:` +
    `x=w-tw-${margin}:y=h-th-${margin}`
  );
}
