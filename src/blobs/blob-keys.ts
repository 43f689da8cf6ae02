const safeKey = /^[a-z0-9][a-z0-9_\-]*(\/[a-z0-9][a-z0-9_\-.]*)*$/i;

/** Checks that a blob key is a plain relative path (no `..`, no absolute path, no odd characters). */
export function isSafeBlobKey(key: string): boolean {
  return safeKey.test(key) && !key.split('/').some((part) => part === '..' || part === '.') && key.length <= 300;
}

const contentTypes: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  json: 'application/json',
};

/** The media type a blob is served with, from its key's extension. */
export function contentTypeOf(key: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase();
  return (extension && contentTypes[extension]) ?? 'application/octet-stream';
}
