// node play.mjs <page url>: opens play.html in headless Debian Chromium
// and prints its window.result as JSON.

import { chromium } from 'playwright-core';

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--mute-audio',
         '--autoplay-policy=no-user-gesture-required'],
});

try {
  const page = await browser.newPage();
  const log = [];
  page.on('console', m => log.push(m.text()));
  page.on('pageerror', e => log.push('pageerror: ' + e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.result !== null, null,
                             { timeout: 90000 });
  const result = await page.evaluate(() => window.result);
  result.console = log.slice(-20);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
