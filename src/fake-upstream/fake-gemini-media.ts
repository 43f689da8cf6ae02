import { randomUUID } from 'node:crypto';
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

  /**
   * A clip that starts on `image` (its first frame is the picture, fitted) and moves on with a slow
   * push-in, with a tone: what an image-to-video model's output looks like to Segue.
   */
  async fromImage(aspectRatio: '16:9' | '9:16', durationSeconds: number, image: Buffer): Promise<string> {
    const [width, height] = aspectRatio === '9:16' ? [720, 1280] : [1280, 720];
    await fs.mkdir(this.directory, { recursive: true });
    const base = path.join(this.directory, `from-image-${randomUUID()}`);
    await fs.writeFile(`${base}.img`, image);
    const frames = Math.round(durationSeconds * 24);
    await this.media.ffmpeg([
      '-loop', '1', '-framerate', '24', '-t', String(durationSeconds), '-i', `${base}.img`,
      '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${durationSeconds}`,
      '-vf', `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1,` +
        `zoompan=z='1+0.08*on/${frames}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=${width}x${height}:fps=24`,
      '-frames:v', String(frames),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '48',
      '-c:a', 'aac', '-b:a', '96k', '-shortest', '-movflags', '+faststart', `${base}.mp4`,
    ]);
    await fs.rm(`${base}.img`, { force: true });
    return `${base}.mp4`;
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
