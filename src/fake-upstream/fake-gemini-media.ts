import fs from 'node:fs/promises';
import path from 'node:path';
import type { MediaTools } from '../media/media-tools.js';

/**
 * Real MP4 bytes for the fake Gemini server: a test pattern with a tone, 24 fps, H.264 + AAC,
 * 1280×720 or 720×1280, one file per size and length (an extension is its source + 7 s long).
 */
export class FakeVideoMaker {
  private readonly made = new Map<string, Promise<string>>();

  constructor(
    private readonly media: MediaTools,
    private readonly directory: string,
  ) {}

  video(aspectRatio: '16:9' | '9:16', durationSeconds: number): Promise<string> {
    const [width, height] = aspectRatio === '9:16' ? [720, 1280] : [1280, 720];
    const name = `${width}x${height}-${durationSeconds}s.mp4`;
    let made = this.made.get(name);
    if (!made) {
      made = this.render(width, height, durationSeconds, path.join(this.directory, name));
      made.catch(() => this.made.delete(name));
      this.made.set(name, made);
    }
    return made;
  }

  private async render(width: number, height: number, seconds: number, file: string): Promise<string> {
    await fs.mkdir(this.directory, { recursive: true });
    await this.media.ffmpeg([
      '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=24:duration=${seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '48',
      '-c:a', 'aac', '-b:a', '96k', '-shortest', '-movflags', '+faststart', file,
    ]);
    return file;
  }
}
