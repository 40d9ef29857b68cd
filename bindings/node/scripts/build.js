#!/usr/bin/env node
'use strict'
// Builds the native addon into ./worker-runtime.node: `napi build` (@napi-rs/cli) when it is
// installed, else cargo directly (an npm install of the package has no dev dependencies).
// Flags: --release; --if-missing (the install hook: keep an addon that is already there).
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const dir = path.join(__dirname, '..')
const out = path.join(dir, 'worker-runtime.node')
const release = process.argv.includes('--release')

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: dir, stdio: 'inherit', env: process.env })
  if (r.error) throw r.error
  if (r.status !== 0) process.exit(r.status ?? 1)
}

if (process.argv.includes('--if-missing') && fs.existsSync(out)) process.exit(0)

let cli = null
try {
  cli = require.resolve('@napi-rs/cli/package.json', { paths: [dir] })
} catch {}

if (cli) {
  const bin = path.join(path.dirname(cli), JSON.parse(fs.readFileSync(cli, 'utf8')).bin.napi)
  run(process.execPath, [bin, 'build', '--manifest-path', 'Cargo.toml', '--output-dir', '.', '--dts', 'native.d.ts', ...(release ? ['--release'] : [])])
} else {
  run('cargo', ['build', '--manifest-path', 'Cargo.toml', '--lib', ...(release ? ['--release'] : [])])
  const meta = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', 'Cargo.toml'], { cwd: dir, encoding: 'utf8' })
  if (meta.status !== 0) throw new Error(meta.stderr)
  const target = JSON.parse(meta.stdout).target_directory
  fs.copyFileSync(path.join(target, release ? 'release' : 'debug', 'libworker_node.so'), out)
}
console.log(`worker-runtime: built ${out}`)
