import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startCallbackReceiver } from './helpers/callback-receiver.js';
import { chromiumSkip, launchChromium } from './helpers/chromium.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';

/*
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
 * Segue whose local engine renders real H.264: sign in, watch a task appear and finish, play its
 * video and seek in it, redeliver its callback, open an extension chain, a second tenant sees
 * nothing of the first's, the admin key sees everything and the providers. /docs renders too.
 * Every page is watched for requests to other origins and for CSP violations.
 *
 * SEGUE_DASHBOARD_SCREENSHOT=docs/dashboard.png keeps the screenshot of the task page.
 */

// The functions handed to page.evaluate run in the browser, with its globals (typed loosely here).
declare const document: any;

const ADMIN_KEY = 'admin-key-browser-0123456789';
const screenshotPath = process.env['SEGUE_DASHBOARD_SCREENSHOT'] ?? path.join(temporaryDirectory('segue-screenshot-'), 'dashboard.png');
const options = { skip: chromiumSkip, timeout: 300_000 };

let harness: TestSegue;
let base: string;
let browser: Browser;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let veo: VeoClient;
let secondKey: string;
/** The first tenant's generation and its extension, once the tests have made them. */
let generatedId: string;
let extendedId: string;
/** What each page did that it should not have: requests elsewhere, CSP violations, errors. */
const trouble: string[] = [];

before(async () => {
  if (chromiumSkip) return;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  harness = await startTestSegue({
    environment: { PORT: String(port), SEGUE_PUBLIC_URL: base, SEGUE_ADMIN_KEY: ADMIN_KEY, SEGUE_ALLOW_PRIVATE_NETWORKS: 'true', SEGUE_SHUTDOWN_GRACE_SECONDS: '1' },
  });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  secondKey = (await harness.segue.keys.create('second tenant', 1000)).key;
  receiver = await startCallbackReceiver(() => 200);
  veo = new VeoClient(base, harness.key);
  browser = await launchChromium();
});

after(async () => {
  if (chromiumSkip) return;
  await browser?.close();
  await receiver?.close();
  await harness?.close();
});

/** A fresh browser tab (its own sessionStorage) watched for trouble; 404s are trouble unless expected. */
async function newPage(options: { notFoundExpected?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event: any) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol.startsWith('http') && url.origin !== base) trouble.push(`request to another origin: ${request.url()}`);
  });
  page.on('console', (message) => {
    if (options.notFoundExpected && message.text().includes('status of 404')) return;
    if (message.type() === 'error') trouble.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => trouble.push(`page error on ${page.url()}: ${error.message}`));
  return page;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${base}/dashboard`);
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('#who [data-role]');
}

/** Plays a video element from the start and waits until its playback position has advanced. */
async function playsAndAdvances(page: Page, selector: string): Promise<number> {
  await page.waitForFunction((found) => (document.querySelector(found) as any)?.src, selector);
  await page.evaluate(async (found) => {
    const video = document.querySelector(found) as any;
    video.muted = true;
    await video.play();
  }, selector);
  await page.waitForFunction((found) => (document.querySelector(found) as any).currentTime > 1, selector, { timeout: 30_000 });
  return page.evaluate((found) => (document.querySelector(found) as any).currentTime, selector);
}

test('a tenant signs in, sees its task appear and finish, plays and seeks its video, and redelivers its callback', options, async () => {
  const page = await newPage();
  await signIn(page, harness.key);
  assert.equal(await page.getAttribute('#who [data-role]', 'data-role'), 'tenant');
  await page.waitForSelector('#tasks td.empty');

  const created = await veo.post('/api/v1/veo/generate', { prompt: 'A paper boat drifts down a rainy street at dusk', model: 'veo3_fast', aspectRatio: '16:9', callBackUrl: receiver.url });
  assert.equal(created.code, 200, created.msg);
  generatedId = created.data.taskId;
  const row = `#tasks tr[data-task-id="${generatedId}"]`;
  await page.waitForSelector(row, { timeout: 15_000 });
  await page.waitForSelector(`${row}[data-state="succeeded"]`, { timeout: 240_000 });
  assert.match((await page.textContent(`${row} td.prompt`))!, /paper boat/);

  await page.click(`${row} td.id a`);
  await page.waitForSelector('video#video');
  assert.equal(await page.textContent('[data-provider]'), 'local');
  const poster = await page.getAttribute('video#video', 'poster');
  assert.match(poster!, new RegExp(`^${base}/files/.*poster\\.jpg\\?`));
  const ranges: number[] = [];
  page.on('response', (response) => {
    if (response.url().includes('video.mp4')) ranges.push(response.status());
  });
  const position = await playsAndAdvances(page, 'video#video');
  assert.ok(position > 1, `playback advanced to ${position} s`);
  // Seeking: the browser asks for the bytes it needs with Range (206 Partial Content).
  await page.evaluate(async () => {
    const video = document.querySelector('video#video') as any;
    await new Promise((resolve) => {
      video.addEventListener('seeked', resolve, { once: true });
      video.currentTime = 6;
    });
  });
  assert.ok((await page.evaluate(() => (document.querySelector('video#video') as any).currentTime)) >= 6);
  assert.ok(ranges.includes(206), `range requests answered: ${ranges.join(', ')}`);

  // The callback was delivered; send it again from the page and see the second round's attempt.
  await page.waitForSelector('#callbacks .delivery[data-state="delivered"]', { timeout: 30_000 });
  const before = receiver.received.length;
  await page.click('#callbacks button.redeliver');
  await page.waitForFunction(() => [...document.querySelectorAll('#callbacks .delivery tbody tr')].some((row) => row.firstElementChild?.textContent === '2'), undefined, { timeout: 30_000 });
  assert.ok(receiver.received.length > before, 'the receiver got the callback again');
  await page.context().close();
});

test('an extension chain: the lineage lists both videos, each playable', options, async () => {
  assert.ok(generatedId, 'the first test made a video');
  const extended = await veo.post('/api/v1/veo/extend', { taskId: generatedId, prompt: 'The boat sails out into a wide calm harbour' });
  assert.equal(extended.code, 200, extended.msg);
  extendedId = extended.data.taskId;
  const page = await newPage();
  await signIn(page, harness.key);
  await page.goto(`${base}/dashboard#/task/${extendedId}`);
  await page.waitForSelector('video#video', { timeout: 240_000 });
  await page.waitForSelector('#lineage ol.chain li:nth-child(2)');
  const chain = await page.$$eval('#lineage ol.chain li', (items) => items.map((item) => (item as any).dataset['taskId']));
  assert.deepEqual(chain, [generatedId, extendedId]);
  assert.equal(await page.getAttribute('#lineage li.current', 'data-task-id'), extendedId);
  await playsAndAdvances(page, `#lineage li[data-task-id="${generatedId}"] video`);
  await playsAndAdvances(page, `#lineage li[data-task-id="${extendedId}"] video`);
  const duration = await page.evaluate(() => (document.querySelector('video#video') as any).duration);
  assert.ok(duration > 12, `the extension is the whole video (${duration} s)`);
  // Stop on the first frame and leave the page as a person would see it, for the README.
  await page.evaluate(() => document.querySelectorAll('video').forEach((video: any) => (video.pause(), (video.currentTime = 0.5))));
  await page.waitForFunction(() => [...document.querySelectorAll('video')].every((video) => video.readyState >= 2));
  await page.setViewportSize({ width: 1400, height: 1240 });
  await page.screenshot({ path: screenshotPath });
  assert.ok(fs.statSync(screenshotPath).size > 10_000);
  await page.context().close();
});

test('a second tenant sees none of the first tenant’s tasks', options, async () => {
  assert.ok(generatedId && extendedId);
  // The first tenant's task answers 404 to the second: the page says so.
  const page = await newPage({ notFoundExpected: true });
  await signIn(page, secondKey);
  await page.waitForSelector('#tasks td.empty');
  assert.equal(await page.$$eval('#tasks tr[data-task-id]', (rows) => rows.length), 0);
  await page.goto(`${base}/dashboard#/task/${generatedId}`);
  await page.waitForSelector('.task-header .error');
  assert.match((await page.textContent('.task-header .error'))!, /No such task/);
  assert.equal(await page.$('video'), null);
  await page.context().close();
});

test('the admin key sees every task and the providers with their breakers and slots', options, async () => {
  const page = await newPage();
  await signIn(page, ADMIN_KEY);
  assert.equal(await page.getAttribute('#who [data-role]', 'data-role'), 'operator');
  await page.waitForSelector(`#tasks tr[data-task-id="${extendedId}"]`);
  await page.click('a[href="#/providers"]');
  await page.waitForSelector('#providers tr[data-entry="local"]');
  assert.match((await page.textContent('#providers tr[data-entry="local"]'))!, /closed/);
  await page.waitForSelector('#maintenance');
  await page.context().close();
});

test('/docs renders the OpenAPI document from same-origin files', options, async () => {
  const page = await newPage();
  await page.goto(`${base}/docs`);
  await page.waitForSelector('h1:has-text("Segue")', { timeout: 30_000 });
  await page.waitForFunction(() => ['Generate a video', 'Extend a finished video', 'The dashboard: tasks'].every((text) => document.body.innerText.includes(text)));
  await page.context().close();
});

test('no page loaded anything from elsewhere, broke its policy or threw', options, () => {
  assert.deepEqual(trouble, []);
});
