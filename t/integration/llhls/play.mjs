// node play.mjs <page url> [timeout ms]: opens the LL-HLS player page in
// headless Debian Chromium and prints its window.result as JSON.
// playwright-core and hls.js come from t/worker/js/node_modules
// (`npm ci --prefix t/worker/js`).

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'worker', 'js',
                                        'package.json'));
const { chromium } = require('playwright-core');

const url = process.argv[2];
const timeout = parseInt(process.argv[3] || '90000', 10);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--mute-audio',
         '--autoplay-policy=no-user-gesture-required'],
});

try {
  const page = await browser.newPage();
  const log = [];
  page.on('console', m => log.push(m.text()));
  page.on('pageerror', e => log.push('pageerror: ' + e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.result !== null, null,
                             { timeout });
  const result = await page.evaluate(() => window.result);
  result.console = log.slice(-20);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
