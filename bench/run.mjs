// The measurements behind `cargo xtask bench` (see bench/README.md).
//
// xtask builds the artefacts and calls `node bench/run.mjs <config.json>`;
// this script starts the sandbox and the backends (release binaries) on
// loopback, measures in headless Chromium (playwright-core, /usr/bin/chromium),
// runs wrk against the backend, prints each metric against its target and
// writes BENCHMARKS.md. It exits 0 whatever the numbers: it reports, it does
// not judge CI. Nothing here is invented: a measurement that fails is written
// as "not measured" with the reason.

import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import crypto from "node:crypto";
import { transformSync } from "esbuild";
import { chromium } from "playwright-core";

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
// cfg: { root, loads, levelSeconds, poolSize, sandboxBin, serverBin, sandboxPort,
//        dists: {minimal, demo, react}, namedWasm: {minimal, demo}, command, out, tmp,
//        backendOnly, backendOut, postgres: {base, databases: {"<replicas>-<c>": name}} | null,
//        postgresError }
const LOADS = cfg.loads;
const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const TARGETS = {
  sizeKb: 40,
  sizeStretchKb: 30,
  demoKb: 60,
  readyRatio: 0.8,
  clickMs: 1,
  memoryMb: 2.5,
};
const PEERS = [
  ["PortOne's official React sample (Vite 5, React 18, npm loader)", "41.3 KB", "263", "1.76 MB", "17 ms (fetches the SDK on click)"],
  ["minimal React 18 + Vite 7 checkout", "40.9 KB", "164", "1.67 MB", "0.75 ms"],
  ["PortOne's official Next.js sample (static)", "96.0 KB", "395", "2.42 MB", "17 ms"],
  ["plain HTML with an inline handler (the floor)", "0.35 KB", "53", "1.24 MB", "0.2 ms"],
];

const log = (...a) => console.log(...a);
const PAGE_LABEL = { minimal: "minimal", react: "React", reactWarm: "React, `?warm` (prepared at mount)" };
const results = { notes: [] };
const children = [];

// ---------------------------------------------------------------- helpers

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function stats(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return { n: v.length, median: median(v), min: Math.min(...v), max: Math.max(...v) };
}
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");
const kb = (b) => (b / 1000).toFixed(1);
const mb = (b) => (b / 1e6).toFixed(2);
const fmtStats = (s, f = f1, unit = " ms") => (s && s.n ? `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})` : "not measured");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

function start(name, bin, args, env = {}) {
  const logFile = path.join(cfg.tmp, `${name}.log`);
  const out = fs.openSync(logFile, "w");
  const child = spawn(bin, args, {
    cwd: cfg.root,
    env: { ...process.env, RUST_LOG: "warn", ...env },
    stdio: ["ignore", out, out],
  });
  child.benchName = name;
  child.logFile = logFile;
  children.push(child);
  return child;
}

function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, 3000);
    child.on("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function waitHttp(url, child, timeoutMs = 30000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null) {
      throw new Error(`${child.benchName} exited (${child.exitCode}); see ${child.logFile}`);
    }
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function vmHwm(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = s.match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function startServer(name, port, db, staticDir) {
  // No rate limit: the load test sends thousands of requests from one address.
  // `db`: an SQLite path or a postgres:// URL.
  const args = ["--addr", `127.0.0.1:${port}`, "--db", db, "--portone-api-base", cfg.sandboxUrl, "--rate-burst", "0"];
  if (staticDir) args.push("--static-dir", staticDir);
  const child = start(name, cfg.serverBin, args);
  await waitHttp(`http://127.0.0.1:${port}/api/config`, child);
  return child;
}

async function postJson(url, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${text}`);
  return JSON.parse(text);
}

const PRODUCTS = ["americano", "cafe-latte", "croissant"];

/** A paid payment the backend has not verified yet: prepare + sandbox pay. */
async function paidPayment(backend, i = 0) {
  const p = await postJson(`${backend}/api/payments`, {
    items: [{ productId: PRODUCTS[i % PRODUCTS.length], quantity: 1 }],
  });
  const res = await postJson(`${cfg.sandboxUrl}/__sandbox/pay`, {
    request: {
      storeId: "store-sandbox",
      channelKey: "channel-key-sandbox-tosspay",
      paymentId: p.paymentId,
      orderName: p.orderName,
      totalAmount: p.totalAmount,
      currency: p.currency,
      payMethod: "EASY_PAY",
      customer: p.customer,
    },
    outcome: "approve",
  });
  if (res.code !== undefined) throw new Error(`sandbox pay failed: ${JSON.stringify(res)}`);
  return { paymentId: p.paymentId, txId: res.txId };
}

async function pool(n, concurrency, f) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await f(i);
      }
    }),
  );
  return out;
}

// ------------------------------------------------------------ deployment

// What a production deployment does to a trunk build, as Vite does for the
// React page: trunk 0.21's own JS minifier (minify-js) cannot parse the
// `export default` of wasm-bindgen's glue (trunk-rs/trunk#1044), warns
// "Failed to minify JS" and leaves it as is; esbuild minifies it here, and
// the `integrity` trunk wrote for it is updated to match.
function minifyGlue(dir) {
  const index = path.join(dir, "index.html");
  let html = fs.readFileSync(index, "utf8");
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    const file = path.join(dir, f);
    const before = fs.readFileSync(file);
    const out = transformSync(before.toString("utf8"), { minify: true, format: "esm", target: "es2020" }).code;
    fs.writeFileSync(file, out);
    const sri = (b) => "sha384-" + crypto.createHash("sha384").update(b).digest("base64");
    html = html.split(sri(before)).join(sri(Buffer.from(out)));
  }
  fs.writeFileSync(index, html);
}

// Precompressed copies next to each file, which the backend's static
// service sends to browsers that accept them (both pages alike).
function precompress(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) precompress(p);
    else if (/\.(js|wasm|css|html)$/.test(e.name)) {
      const b = fs.readFileSync(p);
      fs.writeFileSync(p + ".br", zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
      fs.writeFileSync(p + ".gz", zlib.gzipSync(b, { level: 9 }));
    }
  }
}

// ------------------------------------------------------------------ sizes

function compressed(buf) {
  return {
    raw: buf.length,
    gzip: zlib.gzipSync(buf, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(buf, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length,
  };
}

function distSizes(dir) {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(dir);
  const groups = { js: [], wasm: [], css: [], html: [] };
  for (const f of files) {
    const ext = path.extname(f).slice(1);
    if (groups[ext]) groups[ext].push({ file: path.relative(dir, f), ...compressed(fs.readFileSync(f)) });
  }
  const sum = (list) =>
    list.reduce((a, x) => ({ raw: a.raw + x.raw, gzip: a.gzip + x.gzip, brotli: a.brotli + x.brotli }), {
      raw: 0,
      gzip: 0,
      brotli: 0,
    });
  const js = sum(groups.js);
  const wasm = sum(groups.wasm);
  const css = sum(groups.css);
  const html = sum(groups.html);
  return { files: Object.values(groups).flat(), js, wasm, css, html, code: sum([js, wasm]) };
}

// The shallow size of each crate in a wasm with a name section (the
// wasm-bindgen output before wasm-opt strips names): function bodies grouped
// by the crate of their (demangled) name.
function crateSizes(file) {
  const b = fs.readFileSync(file);
  let i = 8;
  const leb = () => {
    let r = 0,
      s = 0,
      x;
    do {
      x = b[i++];
      r += (x & 0x7f) * 2 ** s;
      s += 7;
    } while (x & 0x80);
    return r;
  };
  let imports = 0;
  const bodies = [];
  const names = new Map();
  let data = 0;
  while (i < b.length) {
    const id = b[i++];
    const n = leb();
    const end = i + n;
    if (id === 2) {
      const cnt = leb();
      for (let k = 0; k < cnt; k++) {
        const moduleLen = leb();
        i += moduleLen;
        const fieldLen = leb();
        i += fieldLen;
        const kind = b[i++];
        if (kind === 0) {
          leb();
          imports++;
        } else if (kind === 1) {
          i++;
          const fl = leb();
          leb();
          if (fl & 1) leb();
        } else if (kind === 2) {
          const fl = leb();
          leb();
          if (fl & 1) leb();
        } else if (kind === 3) i += 2;
        else if (kind === 4) {
          i++;
          leb();
        }
      }
    } else if (id === 10) {
      const cnt = leb();
      for (let k = 0; k < cnt; k++) {
        const s0 = i;
        const l = leb();
        bodies.push(l + (i - s0));
        i += l;
      }
    } else if (id === 11) {
      data = n;
    } else if (id === 0) {
      const l = leb();
      const nm = b.subarray(i, i + l).toString();
      i += l;
      if (nm === "name") {
        while (i < end) {
          const sub = b[i++];
          const sl = leb();
          const se = i + sl;
          if (sub === 1) {
            const cnt = leb();
            for (let k = 0; k < cnt; k++) {
              const idx = leb();
              const l2 = leb();
              names.set(idx, b.subarray(i, i + l2).toString());
              i += l2;
            }
          }
          i = se;
        }
      }
    }
    i = end;
  }
  const crateOf = (name) => {
    // `<T as krate::Trait>::f`, `<krate::Type as other::Trait>::f`, `krate[hash]::m::f`.
    let s = name.replace(/^_ZN\d+/, "");
    const impl = s.match(/^<(?:[&*]?(?:mut |const )?)*(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)/);
    if (s.startsWith("<") && impl) {
      s = impl[1] === "T" || impl[1] === "F" ? (s.match(/ as ([A-Za-z_][A-Za-z0-9_]*)/) || [, "?"])[1] : impl[1];
      return s.replace(/\[[0-9a-f]+\]$/, "");
    }
    const m = s.match(/^([A-Za-z_][A-Za-z0-9_]*)/);
    const c = m ? m[1] : "?";
    return names.size === 0 ? "(no names)" : c;
  };
  const byCrate = new Map();
  const fns = [];
  bodies.forEach((sz, k) => {
    const name = names.get(imports + k) || "?";
    const c = crateOf(name);
    byCrate.set(c, (byCrate.get(c) || 0) + sz);
    fns.push([sz, name]);
  });
  const code = bodies.reduce((a, x) => a + x, 0);
  return {
    total: b.length,
    code,
    data,
    crates: [...byCrate.entries()].sort((a, b) => b[1] - a[1]),
    functions: fns.sort((a, b) => b[0] - a[0]),
  };
}

function twiggyTop(file, n = 12) {
  try {
    return execFileSync("twiggy", ["top", "-n", String(n), file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    return `twiggy failed: ${e.message}`;
  }
}

// ---------------------------------------------------------------- browser

// Runs before any page script: records when the pay button is first present
// and enabled, when the status reaches `paid`, the click's event time, and
// captures every wasm instance's memory.
const INIT = `(() => {
  const B = (window.__bench = { readyAt: null, paidAt: null, clickAt: null, dispatchAt: null, sdkAt: null, request: null, mems: [] });
  const keep = (r) => {
    try {
      const inst = r && r.instance ? r.instance : r;
      if (inst && inst.exports) for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) B.mems.push(v);
    } catch (e) {}
    return r;
  };
  const wrap = (o) => function () { return o.apply(this, arguments).then(keep); };
  WebAssembly.instantiateStreaming = wrap(WebAssembly.instantiateStreaming);
  WebAssembly.instantiate = wrap(WebAssembly.instantiate);
  const check = () => {
    if (B.readyAt === null) {
      const b = document.querySelector('[data-testid=checkout-pay]');
      if (b && !b.disabled && b.isConnected) B.readyAt = performance.now();
    }
    if (B.paidAt === null && document.querySelector('[data-testid=checkout-status][data-state=paid]')) B.paidAt = performance.now();
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
  window.addEventListener('click', (e) => { if (B.clickAt === null) { B.clickAt = e.timeStamp; B.dispatchAt = performance.now(); } }, true);
})();`;

// After the SDK has loaded: requestPayment records its entry time and never
// settles, so nothing navigates or opens a window.
const WRAP_SDK = `(() => {
  const B = window.__bench;
  const P = window.PortOne;
  if (!P || typeof P.requestPayment !== 'function') return false;
  P.requestPayment = function (req) {
    if (B.sdkAt === null) { B.sdkAt = performance.now(); B.request = JSON.parse(JSON.stringify(req)); }
    return new Promise(() => {});
  };
  return true;
})()`;

async function waitBench(page, field, timeout = 15000) {
  await page.waitForFunction((f) => window.__bench && window.__bench[f] !== null, field, { timeout, polling: 5 });
  return page.evaluate((f) => window.__bench[f], field);
}

async function apiEntries(page) {
  return page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => e.name.includes("/api/"))
      .map((e) => ({
        name: new URL(e.name).pathname,
        method: e.initiatorType,
        start: e.startTime,
        responseStart: e.responseStart,
        end: e.responseEnd,
      })),
  );
}

/** One cold load: time to a usable button, memory, then click to SDK. */
async function loadAndClick(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(INIT);
    await page.goto(url, { waitUntil: "commit" });
    const readyAt = await waitBench(page, "readyAt");
    // Where the time to ready went: app code downloaded, SDK script
    // requested (the app has started and injected it), SDK downloaded.
    const phases = await page.evaluate(() => {
      const res = performance.getEntriesByType("resource");
      const own = res.filter((e) => e.name.startsWith(location.origin) && /\.(js|wasm)$/.test(new URL(e.name).pathname));
      const sdk = res.find((e) => e.name.includes("/v2/browser-sdk.js"));
      const nav = performance.getEntriesByType("navigation")[0];
      return {
        html: nav ? nav.responseEnd : NaN,
        code: own.length ? Math.max(...own.map((e) => e.responseEnd)) : NaN,
        sdkStart: sdk ? sdk.startTime : NaN,
        sdkEnd: sdk ? sdk.responseEnd : NaN,
      };
    });
    // Memory after the page is ready: JS heap after a full GC + wasm memory.
    const cdp = await context.newCDPSession(page);
    await cdp.send("HeapProfiler.enable");
    await cdp.send("HeapProfiler.collectGarbage");
    const heap = await cdp.send("Runtime.getHeapUsage");
    const wasm = await page.evaluate(() => window.__bench.mems.reduce((a, m) => a + m.buffer.byteLength, 0));
    // Click to SDK.
    if (!(await page.evaluate(WRAP_SDK))) throw new Error("window.PortOne.requestPayment missing after ready");
    await page.click("[data-testid=checkout-pay]");
    const sdkAt = await waitBench(page, "sdkAt");
    const { clickAt, dispatchAt, request } = await page.evaluate(() => window.__bench);
    const entries = await apiEntries(page);
    const prep = entries.filter((e) => e.name === "/api/payments");
    const afterClick = prep.find((e) => e.start >= clickAt);
    const before = prep.filter((e) => e.start < clickAt);
    return {
      readyAt,
      ...phases,
      heap: heap.usedSize,
      wasm,
      click: sdkAt - clickAt,
      // From the first (capturing, window) click listener instead of the
      // event's timeStamp: excludes the browser's input delivery.
      dispatch: sdkAt - dispatchAt,
      inputDelay: dispatchAt - clickAt,
      // Split when the prepare call happens after the click.
      clickToFetch: afterClick ? afterClick.start - clickAt : NaN,
      prepareNet: afterClick ? afterClick.end - afterClick.start : NaN,
      answerToSdk: afterClick ? sdkAt - afterClick.end : NaN,
      preparedBeforeClick: before.length > 0 && !afterClick,
      request,
    };
  } finally {
    await context.close();
  }
}

/** One cold load of a redirect return for a paid payment. */
async function redirectReturn(browser, base, paid) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(INIT);
    const q = new URLSearchParams({ paymentId: paid.paymentId, transactionType: "PAYMENT", txId: paid.txId });
    await page.goto(`${base}/?${q}`, { waitUntil: "commit" });
    const paidAt = await waitBench(page, "paidAt");
    const entries = await apiEntries(page);
    const done = entries.filter((e) => e.name.startsWith(`/api/payments/${paid.paymentId}`));
    const complete = done.find((e) => e.name.endsWith("/complete")) || done[done.length - 1];
    return {
      paidAt,
      completeStart: complete ? complete.start : NaN,
      completeEnd: complete ? complete.end : NaN,
      completeServer: complete ? complete.end - complete.start : NaN,
      path: complete ? complete.name : "none",
    };
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------- backend

// `ports`: the replicas; wrk's threads are spread over them in turn
// (`BENCH_REPLICA_PORTS`, read by complete.lua's setup), as a load balancer
// would spread connections.
function wrk(ports, connections, seconds, idsFile, mode) {
  const threads = Math.min(2, connections);
  const port = ports[0];
  const args = [
    "-t",
    String(threads),
    "-c",
    String(connections),
    "-d",
    `${seconds}s`,
    "--timeout",
    "30s",
    "-s",
    path.join(cfg.root, "bench", "complete.lua"),
    `http://127.0.0.1:${port}`,
    "--",
    idsFile,
    String(threads),
    mode,
  ];
  const out = execFileSync("wrk", args, {
    encoding: "utf8",
    cwd: cfg.root,
    maxBuffer: 1 << 24,
    env: { ...process.env, BENCH_REPLICA_PORTS: ports.join(",") },
  });
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const j = JSON.parse(line.slice("BENCH_JSON ".length));
  // `active_us`: first request sent to last response received (the script's
  // own clock); wrk's duration is always the -d value.
  const elapsed = (j.active_us > 0 ? j.active_us : j.duration_us) / 1e6;
  return {
    connections,
    requests: j.responses || j.requests,
    seconds: elapsed,
    rps: (j.responses || j.requests) / elapsed,
    p50: j.p50_us / 1000,
    p99: j.p99_us / 1000,
    max: j.max_us / 1000,
    errors: j.errors,
    extra: j.extra,
  };
}

// The backends measured: SQLite (one server), and PostgreSQL with one and
// with two replicas on one database (`cfg.postgres`: the throwaway cluster
// xtask started, with a fresh database per scenario and level).
function backendScenarios() {
  const scenarios = [{ key: "sqlite", label: "SQLite, one server", replicas: 1, db: (c) => path.join(cfg.tmp, `load-${c}.db`) }];
  if (cfg.postgres) {
    for (const replicas of [1, 2]) {
      scenarios.push({
        key: `postgres-${replicas}`,
        label: `PostgreSQL, ${replicas === 1 ? "one replica" : "two replicas"}`,
        replicas,
        db: (c) => `${cfg.postgres.base}/${cfg.postgres.databases[`${replicas}-${c}`]}`,
      });
    }
  } else {
    results.notes.push(`backend on PostgreSQL: not measured (${cfg.postgresError || "no cluster"})`);
  }
  return scenarios;
}

async function backendLoad() {
  const out = [];
  for (const sc of backendScenarios()) {
    log(`  -- ${sc.label}`);
    const levels = [];
    for (const c of [1, 16, 64]) {
      const servers = [];
      try {
        for (let r = 0; r < sc.replicas; r++) {
          const port = await freePort();
          servers.push({ port, child: await startServer(`server-${sc.key}-${c}-${r}`, port, sc.db(c), null) });
        }
        const ports = servers.map((s) => s.port);
        const base = `http://127.0.0.1:${ports[0]}`;
        const t0 = Date.now();
        const paid = await pool(cfg.poolSize, 8, (i) => paidPayment(base, i));
        const prepSecs = (Date.now() - t0) / 1000;
        const idsFile = path.join(cfg.tmp, `ids-${sc.key}-${c}.txt`);
        fs.writeFileSync(idsFile, paid.map((p) => p.paymentId).join("\n") + "\n");
        log(`  c=${c}: ${paid.length} paid payments prepared in ${prepSecs.toFixed(1)} s; wrk ${cfg.levelSeconds} s…`);
        const first = wrk(ports, c, cfg.levelSeconds, idsFile, "once");
        const repeat = wrk(ports, c, cfg.levelSeconds, idsFile, "repeat");
        const rss = Math.max(...servers.map((s) => vmHwm(s.child.pid)));
        levels.push({ c, first, repeat, rss, pool: paid.length });
        log(
          `  c=${c}: first complete ${f1(first.rps)} req/s p50 ${f2(first.p50)} ms p99 ${f2(first.p99)} ms (${first.requests} req in ${f1(first.seconds)} s); ` +
            `repeat ${f1(repeat.rps)} req/s p50 ${f2(repeat.p50)} ms p99 ${f2(repeat.p99)} ms; peak RSS ${mb(rss)} MB`,
        );
      } catch (e) {
        results.notes.push(`backend ${sc.label}, c=${c}: not measured (${e.message.split("\n")[0]})`);
      } finally {
        for (const s of servers) await stop(s.child);
      }
    }
    out.push({ key: sc.key, label: sc.label, replicas: sc.replicas, levels });
  }
  return out;
}

// ------------------------------------------------------------------- main

// The 1-minute load average at a phase boundary: the cores are shared, so
// the report says how busy the machine was.
function loadavg(phase) {
  try {
    results.loadavg.push([phase, fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]]);
  } catch {}
}

function machine() {
  const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) || [, "unknown"])[1];
  const mem = Number((fs.readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s+(\d+)/) || [, 0])[1]) * 1024;
  let osName = "unknown";
  try {
    osName = (fs.readFileSync("/etc/os-release", "utf8").match(/PRETTY_NAME="(.*)"/) || [, "unknown"])[1];
  } catch {}
  return { nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length, cpu, mem, os: osName };
}

async function main() {
  fs.mkdirSync(cfg.tmp, { recursive: true });
  results.machine = machine();
  results.date = new Date().toISOString();
  results.loadavg = [];
  results.nice = os.getPriority();
  if (cfg.backendOnly) return backendOnly();

  // 0. Deployment: minified glue for the trunk builds, precompressed files.
  for (const k of cfg.trunkDists) minifyGlue(cfg.dists[k]);
  for (const dir of Object.values(cfg.dists)) precompress(dir);

  // 1. Sizes.
  log("== sizes");
  results.sizes = {};
  for (const [k, dir] of Object.entries(cfg.dists)) {
    try {
      results.sizes[k] = distSizes(dir);
      const s = results.sizes[k];
      log(`  ${k}: JS+wasm ${kb(s.code.raw)} KB raw, ${kb(s.code.gzip)} KB gzip -9, ${kb(s.code.brotli)} KB brotli -q 11; CSS ${kb(s.css.brotli)} KB brotli`);
    } catch (e) {
      results.notes.push(`size of ${k}: not measured (${e.message})`);
    }
  }
  results.crates = {};
  for (const [k, file] of Object.entries(cfg.namedWasm)) {
    try {
      results.crates[k] = { ...crateSizes(file), twiggy: twiggyTop(file) };
    } catch (e) {
      results.notes.push(`crate sizes of ${k}: not measured (${e.message})`);
    }
  }

  // Services.
  const sandbox = start("sandbox", cfg.sandboxBin, ["--addr", `127.0.0.1:${cfg.sandboxPort}`]);
  await waitHttp(`${cfg.sandboxUrl}/v2/browser-sdk.js`, sandbox);
  const portMin = await freePort();
  const portReact = await freePort();
  const serverMin = await startServer("server-minimal", portMin, path.join(cfg.tmp, "minimal.db"), cfg.dists.minimal);
  const serverReact = await startServer("server-react", portReact, path.join(cfg.tmp, "react.db"), cfg.dists.react);
  const pages = {
    minimal: `http://127.0.0.1:${portMin}`,
    react: `http://127.0.0.1:${portReact}`,
    reactWarm: `http://127.0.0.1:${portReact}/?warm`,
  };

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS });
  results.chromium = browser.version();
  try {
    // 2, 3, 5. Loads, interleaved so drift hits both pages alike.
    loadavg("page loads start");
    log(`== ${LOADS} cold loads per page (fresh context each), interleaved: minimal, React, React with ?warm`);
    const runs = { minimal: [], react: [], reactWarm: [] };
    const pairs = [];
    // One warm-up load each (not counted): the browser process and the
    // servers' first-request paths, not the page's cache (each context is new).
    for (const k of Object.keys(pages)) await loadAndClick(browser, pages[k]).catch(() => {});
    for (let i = 0; i < LOADS; i++) {
      const order = i % 2 ? ["react", "minimal", "reactWarm"] : ["minimal", "react", "reactWarm"];
      const pair = {};
      for (const k of order) {
        try {
          pair[k] = await loadAndClick(browser, pages[k]);
          runs[k].push(pair[k]);
        } catch (e) {
          results.notes.push(`${k} load ${i + 1}: failed (${e.message.split("\n")[0]})`);
        }
      }
      if (pair.minimal && pair.react) pairs.push(pair.minimal.readyAt / pair.react.readyAt);
    }
    results.loads = {};
    // Back-to-back pairs see about the same machine load: the median of the
    // per-pair ratios is steadier than the ratio of medians on a busy machine.
    results.pairedRatio = stats(pairs);
    for (const k of Object.keys(runs)) {
      const r = runs[k];
      results.loads[k] = {
        ready: stats(r.map((x) => x.readyAt)),
        html: stats(r.map((x) => x.html)),
        code: stats(r.map((x) => x.code)),
        sdkStart: stats(r.map((x) => x.sdkStart)),
        sdkEnd: stats(r.map((x) => x.sdkEnd)),
        heap: stats(r.map((x) => x.heap)),
        wasm: stats(r.map((x) => x.wasm)),
        memory: stats(r.map((x) => x.heap + x.wasm)),
        click: stats(r.map((x) => x.click)),
        dispatch: stats(r.map((x) => x.dispatch)),
        inputDelay: stats(r.map((x) => x.inputDelay)),
        clickToFetch: stats(r.map((x) => x.clickToFetch)),
        prepareNet: stats(r.map((x) => x.prepareNet)),
        answerToSdk: stats(r.map((x) => x.answerToSdk)),
        own: stats(r.map((x) => x.clickToFetch + x.answerToSdk)),
        preparedBeforeClick: r.filter((x) => x.preparedBeforeClick).length,
        request: r.length ? r[0].request : null,
      };
      const L = results.loads[k];
      log(
        `  ${k}: ready ${fmtStats(L.ready)}; click→requestPayment ${fmtStats(L.click, f2)}; ` +
          `JS heap ${mb(L.heap.median)} MB + wasm ${mb(L.wasm.median)} MB`,
      );
    }

    loadavg("page loads end");
    // 4. Redirect returns.
    log(`== ${LOADS} redirect returns (minimal page, a fresh paid payment each)`);
    const paid = await pool(LOADS, 4, (i) => paidPayment(pages.minimal, i));
    const rr = [];
    for (const p of paid) {
      try {
        rr.push(await redirectReturn(browser, pages.minimal, p));
      } catch (e) {
        results.notes.push(`redirect return ${p.paymentId}: failed (${e.message.split("\n")[0]})`);
      }
    }
    results.redirect = {
      paid: stats(rr.map((x) => x.paidAt)),
      completeStart: stats(rr.map((x) => x.completeStart)),
      completeEnd: stats(rr.map((x) => x.completeEnd)),
      completeServer: stats(rr.map((x) => x.completeServer)),
      paths: [...new Set(rr.map((x) => x.path.replace(/order-[^/]+/, "{id}")))],
    };
    log(`  landing→complete answered ${fmtStats(results.redirect.completeEnd)}; landing→status paid ${fmtStats(results.redirect.paid)}`);
  } finally {
    await browser.close();
    results.serverRss = { minimal: vmHwm(serverMin.pid), react: vmHwm(serverReact.pid) };
    await stop(serverMin);
    await stop(serverReact);
  }

  loadavg("redirect returns end");
  // 6. Backend load.
  log(`== backend: POST /api/payments/{id}/complete with wrk, ${cfg.levelSeconds} s per level`);
  try {
    if (cfg.pagesOnly) throw new Error("skipped (--pages-only)");
    results.backend = await backendLoad();
  } catch (e) {
    results.notes.push(`backend load: not measured (${e.message.split("\n")[0]})`);
  }
  loadavg("backend load end");
  results.sandboxRss = vmHwm(sandbox.pid);
  await stop(sandbox);

  fs.writeFileSync(path.join(cfg.tmp, "results.json"), JSON.stringify(results, null, 2));
  const md = report(results);
  fs.writeFileSync(cfg.out, md);
  log(`\nwrote ${path.relative(cfg.root, cfg.out)} (raw results: ${path.join(cfg.tmp, "results.json")})`);
}

// `--backend-only`: the backend load alone, reported in `cfg.backendOut`
// (BENCHMARKS.md, the full report, is left as it is).
async function backendOnly() {
  const sandbox = start("sandbox", cfg.sandboxBin, ["--addr", `127.0.0.1:${cfg.sandboxPort}`]);
  await waitHttp(`${cfg.sandboxUrl}/v2/browser-sdk.js`, sandbox);
  log(`== backend: POST /api/payments/{id}/complete with wrk, ${cfg.levelSeconds} s per level`);
  loadavg("backend load start");
  try {
    results.backend = await backendLoad();
  } catch (e) {
    results.notes.push(`backend load: not measured (${e.message.split("\n")[0]})`);
  }
  loadavg("backend load end");
  await stop(sandbox);
  fs.writeFileSync(path.join(cfg.tmp, "results.json"), JSON.stringify(results, null, 2));
  const lines = [];
  const p = (x = "") => lines.push(x);
  p("# Backend benchmark (`cargo xtask bench --backend-only`)");
  p();
  backendSection(results, p);
  const m = results.machine;
  p(`- Command: \`${cfg.command}\`; date: ${results.date}`);
  p(`- Machine: ${m.nproc} cores (nproc), ${m.cpu}, ${(m.mem / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}; wrk ${wrkVersion()}`);
  p(`- 1-minute load average: ${results.loadavg.map(([k, v]) => `${v} at ${k}`).join(", ")}; nice ${results.nice}`);
  for (const n of results.notes) p(`- ${n}`);
  p();
  fs.writeFileSync(cfg.backendOut, lines.join("\n"));
  log(`\n${lines.join("\n")}\nwrote ${path.relative(cfg.root, cfg.backendOut)}`);
}

// ----------------------------------------------------------------- report

function verdict(ok) {
  return ok ? "met" : "**missed**";
}

// Section 6 (also the whole of `--backend-only`'s report).
function backendSection(r, p) {
  p("## 6. Backend: `complete` throughput");
  p();
  p("`checkout-server` (release binary, `RUST_LOG=warn`) against `portone-sandbox` (release binary), all on loopback,");
  p("driven by Debian's `wrk` 4.1 (`bench/complete.lua`: `POST /api/payments/{id}/complete` with `{}`), on each backend:");
  p();
  p("- **SQLite**: one server, WAL with `synchronous=FULL`, in a temp dir;");
  p("- **PostgreSQL**: a throwaway cluster `cargo xtask bench` starts itself (Debian's PostgreSQL, default durability:");
  p("  `fsync` and synchronous commit on, data in a temp dir), with **one** replica, and with **two** replicas on one");
  p("  database: wrk's two threads are spread over them (`BENCH_REPLICA_PORTS`), as a load balancer spreads");
  p("  connections, so at concurrency 1 (one connection) only one replica serves.");
  p();
  p("A fresh server (or replicas) and database per concurrency level, then a pool of");
  p(`up to ${cfg.poolSize} paid, unreported payments (one item each; the seed stock allows 3000).`);
  p();
  p("- **first complete**: every request reports a different paid payment for the first time: the full path (PortOne");
  p("  `GET /payments/{id}`, amount check, the fulfilment transaction). The run ends when the pool is used up or after");
  p(`  ${cfg.levelSeconds} s; when the pool runs out, each connection's last request repeats an id (at most c requests).`);
  p("- **repeat**: the same ids again for the full duration: already `PAID`, answered from the database.");
  p();
  p("Requests and seconds are counted by the script (responses received; first request sent to last response");
  p("received), because wrk's own duration is always the `-d` value even when the pool ran out earlier. wrk's");
  p("latencies are per request as seen by wrk (no coordinated-omission correction). wrk, the servers, PostgreSQL and");
  p("the sandbox share the 2 cores: two replicas on one machine show the database's behaviour under two writers");
  p("processes, not the throughput of two machines.");
  p();
  if (r.backend && r.backend.length) {
    p("First complete (the full verification path), by backend:");
    p();
    p("| backend | c=1 req/s | c=1 p50 / p99 | c=16 req/s | c=16 p50 / p99 | c=64 req/s | c=64 p50 / p99 |");
    p("|---|---|---|---|---|---|---|");
    for (const sc of r.backend) {
      const cell = (c) => {
        const lv = sc.levels.find((l) => l.c === c);
        return lv ? `${f1(lv.first.rps)} | ${f2(lv.first.p50)} / ${f2(lv.first.p99)} ms` : "n/a | n/a";
      };
      p(`| ${sc.label} | ${cell(1)} | ${cell(16)} | ${cell(64)} |`);
    }
    p();
    p("| backend | concurrency | path | requests | seconds | req/s | p50 | p99 | max | non-2xx / socket errors | server peak RSS (VmHWM) |");
    p("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const sc of r.backend) {
      for (const lv of sc.levels) {
        for (const [name, x] of [
          ["first complete", lv.first],
          ["repeat", lv.repeat],
        ]) {
          const e = x.errors;
          p(
            `| ${sc.label} | ${lv.c} | ${name} | ${x.requests} | ${f1(x.seconds)} | ${f1(x.rps)} | ${f2(x.p50)} ms | ${f2(x.p99)} ms | ${f2(x.max)} ms | ${e.status} / ${e.connect + e.read + e.write + e.timeout} | ${name === "repeat" ? mb(lv.rss) + " MB" : ""} |`,
          );
        }
      }
    }
    p();
    const all = r.backend.flatMap((sc) => sc.levels.map((l) => l.rss));
    p(`Server peak RSS over the load runs: **${mb(Math.max(...all))} MB** (the highest VmHWM of any server process).`);
  } else p("Not measured (see notes).");
  p();
}

function report(r) {
  const S = r.sizes || {};
  const L = r.loads || {};
  const lines = [];
  const p = (s = "") => lines.push(s);
  const minCode = S.minimal ? S.minimal.code.brotli / 1000 : NaN;
  const reactCode = S.react ? S.react.code.brotli / 1000 : NaN;
  const ratio = L.minimal && L.react ? L.minimal.ready.median / L.react.ready.median : NaN;
  // The target's measure starts in the page's click listener; the figure
  // from the click event's timeStamp (input delivery included) is reported
  // next to it.
  const click = L.minimal ? L.minimal.dispatch.median : NaN;
  const clickEvent = L.minimal ? L.minimal.click.median : NaN;
  const reactClick = L.reactWarm ? L.reactWarm.dispatch.median : NaN;
  const demoCode = S.demo ? S.demo.code.brotli / 1000 : NaN;
  const memMb = L.minimal ? L.minimal.memory.median / 1e6 : NaN;
  const reactMemMb = L.react ? L.react.memory.median / 1e6 : NaN;
  const checks = [
    [
      "Minimal page JS + wasm, brotli -q 11",
      `≤ ${TARGETS.sizeKb} KB (stretch ${TARGETS.sizeStretchKb} KB), below every framework peer`,
      `${kb(minCode * 1000)} KB (React baseline ${kb(reactCode * 1000)} KB)`,
      verdict(minCode <= TARGETS.sizeKb) + (minCode <= TARGETS.sizeStretchKb ? " (stretch met)" : ""),
    ],
    ["Demo shop JS + wasm, brotli -q 11", `≤ ${TARGETS.demoKb} KB`, `${kb(demoCode * 1000)} KB`, verdict(demoCode <= TARGETS.demoKb)],
    [
      "Time to usable pay button vs React baseline (same run)",
      `≤ ${TARGETS.readyRatio}x`,
      `${f2(ratio)}x (${f1(L.minimal?.ready.median)} ms vs ${f1(L.react?.ready.median)} ms)`,
      verdict(ratio <= TARGETS.readyRatio),
    ],
    [
      "Click to requestPayment entered, median, from the page's click listener",
      `< ${TARGETS.clickMs} ms`,
      `${f2(click)} ms (from the click event: ${f2(clickEvent)} ms; React prepared at mount: ${f2(reactClick)} ms)`,
      verdict(click < TARGETS.clickMs),
    ],
    [
      "JS heap after GC + wasm memory, median (default stack)",
      `< ${TARGETS.memoryMb} MB`,
      `${f2(memMb)} MB (React baseline ${f2(reactMemMb)} MB)`,
      verdict(memMb < TARGETS.memoryMb),
    ],
  ];
  r.checks = checks;

  p("# Benchmarks");
  p();
  p("Written by `cargo xtask bench` (issue 7). It reports; it does not fail CI. Every number below was measured by");
  p("the run described in *Machine and method*; the peer figures quoted from issue 7 are marked as such.");
  p();
  p("## Against the targets");
  p();
  p("| metric | target | this run | |");
  p("|---|---|---|---|");
  for (const c of checks) p(`| ${c.join(" | ")} |`);
  p("| Backend `complete` | report only | see below | |");
  p();
  p("## Summary (medians, min–max in brackets)");
  p();
  p("| page | JS + wasm brotli | ms to usable pay button | JS heap after GC | wasm memory | click to `requestPayment` |");
  p("|---|---|---|---|---|---|");
  for (const [k, label] of [
    ["minimal", "**portone-checkout minimal page** (`bench/minimal`)"],
    ["react", "minimal React 18 + Vite 7 checkout (`bench/react-baseline`, same run)"],
    ["reactWarm", "the same, loaded with `?warm` (order prepared at mount, like the component)"],
  ]) {
    const l = L[k];
    const s = S[k === "reactWarm" ? "react" : k];
    p(
      `| ${label} | ${s ? kb(s.code.brotli) + " KB" : "n/a"} | ${l ? fmtStats(l.ready) : "n/a"} | ${l ? fmtStats(l.heap, (x) => mb(x), " MB") : "n/a"} | ${l ? fmtStats(l.wasm, (x) => mb(x), " MB") : "n/a"} | ${l ? fmtStats(l.click, f2) : "n/a"} |`,
    );
  }
  if (S.demo) p(`| demo shop (\`index.html\`, size only) | ${kb(S.demo.code.brotli)} KB | – | – | – | – |`);
  if (S.floor) {
    p(
      `| for scale: Leptos 0.8 page with one plain button, same build (\`bench/minimal/floor.html\`, size only) | ${kb(S.floor.code.brotli)} KB | – | – | – | – |`,
    );
  }
  p();
  p("Peers quoted from issue 7 (measured there on this machine kind with the same method; **not** re-measured by this run):");
  p();
  p("| page | app JS brotli | median ms to usable pay button | JS heap after GC | click to SDK |");
  p("|---|---|---|---|---|");
  for (const row of PEERS) p(`| ${row.join(" | ")} |`);
  p();

  p("## 1. Size of what the browser downloads");
  p();
  const changes = path.join(cfg.root, "bench", "size-changes.md");
  if (fs.existsSync(changes)) {
    p(fs.readFileSync(changes, "utf8").trimEnd());
    p();
  }
  p("Release builds: trunk `--release` (`opt-level = \"z\"`, LTO, `codegen-units = 1`, `panic = \"abort\"`, wasm-opt -Oz");
  p("132) for the Rust pages, their wasm-bindgen JS glue then minified by esbuild (trunk's own minifier cannot parse it),");
  p("`vite build` for React. gzip -9 and brotli -q 11 by Node's zlib. The servers used for the timings below send");
  p("precompressed copies (brotli or gzip, whichever the browser accepts; `.wasm` as `application/wasm`), the same way");
  p("for every page.");
  p();
  p("| page | part | raw | gzip -9 | brotli -q 11 |");
  p("|---|---|---|---|---|");
  for (const [k, label] of [
    ["minimal", "minimal page"],
    ["floor", "Leptos floor (one button)"],
    ["demo", "demo shop"],
    ["react", "React baseline"],
  ]) {
    const s = S[k];
    if (!s) {
      p(`| ${label} | not measured | | | |`);
      continue;
    }
    for (const part of ["js", "wasm", "css", "html"]) {
      if (s[part].raw) p(`| ${label} | ${part} | ${kb(s[part].raw)} KB | ${kb(s[part].gzip)} KB | ${kb(s[part].brotli)} KB |`);
    }
    p(`| ${label} | **JS + wasm** | **${kb(s.code.raw)} KB** | **${kb(s.code.gzip)} KB** | **${kb(s.code.brotli)} KB** |`);
  }
  p();
  p("KB = 1000 bytes.");
  if (S.minimal && S.floor) {
    p();
    p(
      `The checkout's own share of the minimal page (minimal − Leptos floor): ${kb(S.minimal.code.brotli - S.floor.code.brotli)} KB brotli of JS + wasm.`,
    );
  }
  p();
  for (const [k, label] of [
    ["minimal", "minimal page"],
    ["demo", "demo shop"],
  ]) {
    const c = r.crates?.[k];
    if (!c) continue;
    p(`### What costs the most: ${label}`);
    p();
    p(
      `From the wasm-bindgen output before wasm-opt (names kept): ${kb(c.total)} KB in all, code ${kb(c.code)} KB, data ${kb(c.data)} KB`,
    );
    p("(the name section is dropped by wasm-opt). Function bodies grouped by crate (shallow size; generic code is");
    p("counted in the crate that defines it, `<T as krate::Trait>` in the trait's crate):");
    p();
    p("| crate | code | share of code |");
    p("|---|---|---|");
    for (const [crate, sz] of c.crates.slice(0, 15)) p(`| \`${crate}\` | ${kb(sz)} KB | ${((100 * sz) / c.code).toFixed(1)}% |`);
    p();
    p("Largest functions:");
    p();
    p("| size | function |");
    p("|---|---|");
    for (const [sz, name] of c.functions.slice(0, 12)) p(`| ${kb(sz)} KB | \`${name.replace(/\|/g, "\\|").slice(0, 140)}\` |`);
    p();
    p("<details><summary><code>twiggy top -n 12</code></summary>");
    p();
    p("```");
    p(c.twiggy.trimEnd());
    p("```");
    p();
    p("</details>");
    p();
  }

  p("## 2. Time to a usable pay button");
  p();
  p(`Navigation start (\`performance.timeOrigin\`) to \`[data-testid=checkout-pay]\` present, connected and not`);
  p("`disabled`, recorded in the page by a MutationObserver installed before any page script. Both pages enable the");
  p("button only once the SDK script (the sandbox's `/v2/browser-sdk.js`, another loopback origin) has loaded, and");
  p("attach the click handler before the button is enabled. A fresh browser context per load (cold HTTP cache, no");
  p(`service worker); the browser process stays up. ${LOADS} loads per page, interleaved, after one uncounted warm-up`);
  p("load each (it warms the servers, not the pages' cache).");
  p();
  p("| page | median | min–max | n |");
  p("|---|---|---|---|");
  for (const k of ["minimal", "react"]) {
    const s = L[k]?.ready;
    p(`| ${k} | ${f1(s?.median)} ms | ${f1(s?.min)}–${f1(s?.max)} ms | ${s?.n ?? 0} |`);
  }
  p();
  p(`Ratio minimal / React: **${f2(ratio)}x** (target ≤ ${TARGETS.readyRatio}x), the ratio of the medians.`);
  const pr = r.pairedRatio;
  if (pr && pr.n) {
    p(
      `Median of the ${pr.n} per-pair ratios (each minimal load over the React load right before or after it): ${f2(pr.median)}x (${f2(pr.min)}–${f2(pr.max)}).`,
    );
  }
  p();
  p("Where the time goes (medians from navigation start, from Navigation/Resource Timing of the same loads):");
  p();
  p("| page | HTML received | app JS + wasm received | SDK script requested (app started) | SDK script received | button usable |");
  p("|---|---|---|---|---|---|");
  for (const k of ["minimal", "react"]) {
    const l = L[k];
    if (!l) continue;
    p(`| ${k} | ${f1(l.html.median)} ms | ${f1(l.code.median)} ms | ${f1(l.sdkStart.median)} ms | ${f1(l.sdkEnd.median)} ms | ${f1(l.ready.median)} ms |`);
  }
  p();

  p("## 3. Click to SDK call");
  p();
  p("After the button is usable, `window.PortOne.requestPayment` is replaced by a function that records");
  p("`performance.now()` on entry and returns a promise that never settles (nothing navigates). Playwright clicks the");
  p("button (a real input event); a capturing `click` listener on `window` takes `event.timeStamp`.");
  p();
  p("Both pages prepare the order at the backend (`POST /api/payments`: the server owns the amount and pre-registers");
  p("it with PortOne). portone-checkout prepares it in the background once the cart settles (\"prepared before the");
  p("click\" below), so its click needs no network. The React baseline prepares on click, as hand-written checkouts");
  p("usually do; loaded with `?warm` it prepares at mount like the component, which is the like-for-like comparison");
  p("of the click path (a third set of loads, interleaved with the other two). When the prepare call happens after the click");
  p("the time splits into: click → fetch started (page code), the prepare round trip (backend + sandbox), and answer →");
  p("`requestPayment` entered (page code: JSON parse, state, building and validating the request). *Own overhead* is");
  p("the two page-code parts.");
  p();
  p("The first column (the target's measure) starts at the click event's `timeStamp`, which Chromium sets when the");
  p("input reaches the renderer; the second starts when the first capturing `click` listener on `window` runs, i.e.");
  p("it leaves out input delivery and whatever was running on the main thread at that moment.");
  p();
  p("| page | click → requestPayment | listener → requestPayment | click → fetch start | prepare round trip | answer → requestPayment | own overhead | prepared before the click |");
  p("|---|---|---|---|---|---|---|---|");
  for (const k of ["minimal", "react", "reactWarm"]) {
    const l = L[k];
    if (!l) continue;
    p(
      `| ${PAGE_LABEL[k]} | ${fmtStats(l.click, f2)} | ${fmtStats(l.dispatch, f2)} | ${fmtStats(l.clickToFetch, f2)} | ${fmtStats(l.prepareNet, f2)} | ${fmtStats(l.answerToSdk, f2)} | ${fmtStats(l.own, f2)} | ${l.preparedBeforeClick}/${l.click.n} loads |`,
    );
  }
  p();
  for (const k of ["minimal", "react"]) {
    const q = L[k]?.request;
    if (q) p(`Request seen by \`requestPayment\` (${k}, first load): \`${JSON.stringify(q).replace(/order-[A-Za-z0-9_-]+/, "order-…")}\``);
    p();
  }

  p("## 4. Redirect return to verified");
  p();
  p(`${LOADS} cold loads of the minimal page at \`/?paymentId=…&transactionType=PAYMENT&txId=…\`, each for a different`);
  p("payment that was prepared at the backend (`POST /api/payments`) and paid through the sandbox");
  p("(`POST /__sandbox/pay`, approve) but not yet reported, so the backend runs the full sync (PortOne read, amount");
  p("check, fulfilment transaction). Times from navigation start; the backend call from its Resource Timing entry.");
  p();
  const R = r.redirect;
  if (R) {
    p("| step | median | min–max |");
    p("|---|---|---|");
    p(`| landing → \`complete\` request sent | ${f1(R.completeStart.median)} ms | ${f1(R.completeStart.min)}–${f1(R.completeStart.max)} ms |`);
    p(`| \`complete\` round trip (backend verification) | ${f1(R.completeServer.median)} ms | ${f1(R.completeServer.min)}–${f1(R.completeServer.max)} ms |`);
    p(`| **landing → \`complete\` answered** | **${f1(R.completeEnd.median)} ms** | ${f1(R.completeEnd.min)}–${f1(R.completeEnd.max)} ms |`);
    p(`| landing → status \`paid\` shown | ${f1(R.paid.median)} ms | ${f1(R.paid.min)}–${f1(R.paid.max)} ms |`);
    p();
    p(`Backend call observed: ${R.paths.map((x) => `\`${x}\``).join(", ")} (n = ${R.paid.n}).`);
  } else p("Not measured (see notes).");
  p();

  p("## 5. Memory after the page is ready");
  p();
  p("Right after the button became usable: CDP `HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage` (`usedSize`),");
  p("plus the byte length of every `WebAssembly.Memory` exported by instances created on the page (captured by wrapping");
  p("`WebAssembly.instantiate*` before any page script).");
  p();
  p("| page | JS heap after GC | wasm linear memory | total |");
  p("|---|---|---|---|");
  for (const k of ["minimal", "react", "reactWarm"]) {
    const l = L[k];
    if (!l) continue;
    p(`| ${PAGE_LABEL[k]} | ${fmtStats(l.heap, mb, " MB")} | ${fmtStats(l.wasm, mb, " MB")} | ${fmtStats(l.memory, mb, " MB")} |`);
  }
  p();

  backendSection(r, p);
  p(
    `Peak RSS of the page-serving servers during the browser runs: minimal ${mb(r.serverRss?.minimal)} MB, React ${mb(r.serverRss?.react)} MB; the sandbox ${mb(r.sandboxRss)} MB.`,
  );
  p();

  // The chaos soak's figures are not measured by this script (the soak runs
  // for many minutes): `cargo xtask soak --report bench/soak.md` (SQLite)
  // and `cargo xtask soak --postgres --replicas 2 --report
  // bench/soak-postgres.md` write them, and every regeneration copies them
  // in, delimited.
  const soaks = ["soak.md", "soak-postgres.md"]
    .map((f) => path.join(cfg.root, "bench", f))
    .filter((f) => fs.existsSync(f));
  if (soaks.length > 0) {
    p("<!-- soak: copied from bench/soak.md and bench/soak-postgres.md (cargo xtask soak --report ...); not measured by run.mjs -->");
    soaks.forEach((f, i) => {
      if (i > 0) p();
      p(fs.readFileSync(f, "utf8").trimEnd());
    });
    p("<!-- soak: end -->");
    p();
  }

  p("## Machine and method");
  p();
  p(`- Command: \`${cfg.command}\``);
  p(`- Date: ${r.date}`);
  p(`- Machine: ${r.machine.nproc} cores (nproc), ${r.machine.cpu}, ${(r.machine.mem / 2 ** 30).toFixed(1)} GiB RAM, ${r.machine.os}`);
  p(`- Browser: Chromium ${r.chromium} (\`/usr/bin/chromium\`, headless, via playwright-core), flags \`${CHROMIUM_FLAGS.join(" ")}\``);
  p(`- Node ${process.version}; wrk ${wrkVersion()}; trunk 0.21.14, wasm-bindgen 0.2.130, wasm-opt 132 (binaryen)`);
  p(`- Loads: ${LOADS} per page; medians with min–max`);
  p(`- Priority: the measuring processes (Node, Chromium, servers, wrk) ran at nice ${r.nice} (\`nice -n -10\` when allowed)`);
  p(
    `- 1-minute load average (2 cores, shared with other work on this machine): ${(r.loadavg || []).map(([k, v]) => `${v} at ${k}`).join(", ")}`,
  );
  p("- The pages are served by `checkout-server --static-dir` (one per page, same binary), the SDK by `portone-sandbox`.");
  p("- Sources: `bench/minimal` (Rust page), `bench/react-baseline` (React page), `bench/run.mjs` (this report),");
  p("  `bench/complete.lua` (wrk), `xtask/src/bench.rs` (builds and runs it all).");
  if (r.notes.length) {
    p();
    p("### Notes and failures in this run");
    p();
    for (const n of r.notes) p(`- ${n}`);
  }
  p();
  return lines.join("\n");
}

function wrkVersion() {
  try {
    const out = execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return (out.match(/wrk (?:debian\/)?([0-9][^ ]*)/) || [, "?"])[1];
  } catch (e) {
    const m = String(e.stdout || "").match(/wrk (?:debian\/)?([0-9][^ ]*)/);
    return m ? m[1] : "?";
  }
}

function printChecks() {
  if (!results.checks) return;
  log("\n== against the targets");
  for (const [metric, target, got, v] of results.checks) log(`  ${metric}: ${got} (target ${target}): ${v.replace(/\*/g, "")}`);
  if (results.notes.length) {
    log("\n== notes");
    for (const n of results.notes) log(`  ${n}`);
  }
}

const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

main()
  .then(() => {
    printChecks();
    process.exit(0);
  })
  .catch((e) => {
    console.error(`bench failed: ${e.stack || e}`);
    process.exit(1);
  });
