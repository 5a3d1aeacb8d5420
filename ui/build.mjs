// Bundles the console into OUT (default ../build/ui): content-hashed assets and an index.html
// that references them. `node build.mjs [OUT] [--dev]`; --dev: not minified, with sourcemaps.
// Runs with the esbuild of ui/node_modules (npm ci first: `python -m tools.ui.build` does it).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const UI_DIR = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(UI_DIR, 'src');
// Marks a directory this script made, so that it only ever replaces its own output.
const MARKER = '.coocenter-ui';

function parseArgs(argv) {
  const options = { out: path.resolve(UI_DIR, '..', 'build', 'ui'), dev: false };
  for (const arg of argv) {
    if (arg === '--dev') options.dev = true;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else options.out = path.resolve(arg);
  }
  return options;
}

function shortHash(data) {
  return createHash('sha256').update(data).digest('hex').slice(0, 10);
}

function checkReplaceable(out) {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new Error(`${out} exists, is not empty and was not made by this build: not replacing it`);
  }
}

async function build({ out, dev }) {
  checkReplaceable(out);
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const result = await esbuild.build({
      absWorkingDir: UI_DIR,
      entryPoints: { app: path.join(SRC, 'main.jsx') },
      bundle: true,
      format: 'esm',
      splitting: true, // Chart.js lands in its own chunk, loaded by the pages that chart
      outdir: staging,
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      assetNames: '[name]-[hash]',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      // current Chromium and Firefox, and the ESR/Debian ones a year back
      target: ['chrome110', 'firefox115', 'safari16'],
      minify: !dev,
      sourcemap: dev ? 'linked' : false,
      legalComments: dev ? 'inline' : 'eof',
      define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
      metafile: true,
      logLevel: 'warning',
    });
    const outputs = result.metafile.outputs;
    const entry = Object.entries(outputs).find(
      ([, meta]) => meta.entryPoint && meta.entryPoint.endsWith('main.jsx'),
    );
    if (!entry) throw new Error('esbuild produced no entry bundle');
    const [scriptPath, scriptMeta] = entry;
    const script = path.basename(scriptPath);
    const styles = scriptMeta.cssBundle ? path.basename(scriptMeta.cssBundle) : null;
    if (!styles) throw new Error('esbuild produced no stylesheet');

    const icon = readFileSync(path.join(SRC, 'favicon.svg'));
    const iconName = `favicon-${shortHash(icon)}.svg`;
    writeFileSync(path.join(staging, iconName), icon);

    const html = readFileSync(path.join(SRC, 'index.html'), 'utf8')
      .replace('%SCRIPT%', `/ui/${script}`)
      .replace('%STYLES%', `/ui/${styles}`)
      .replace('%FAVICON%', `/ui/${iconName}`);
    if (html.includes('%')) throw new Error('index.html has a placeholder left');
    writeFileSync(path.join(staging, 'index.html'), html);
    writeFileSync(path.join(staging, MARKER), `built ${new Date().toISOString()}\n`);

    // swap in the new build whole, so that pbxd never serves half of one
    const old = `${out}.old-${process.pid}`;
    if (existsSync(out)) renameSync(out, old);
    mkdirSync(path.dirname(out), { recursive: true });
    renameSync(staging, out);
    rmSync(old, { recursive: true, force: true });

    const files = readdirSync(out).filter((name) => name !== MARKER);
    let total = 0;
    for (const name of files) total += readFileSync(path.join(out, name)).length;
    console.log(`ui: ${files.length} files, ${(total / 1024).toFixed(0)} KiB in ${out}`);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

build(parseArgs(process.argv.slice(2))).catch((err) => {
  console.error(`ui build failed: ${err.message}`);
  process.exit(1);
});
