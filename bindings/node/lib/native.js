'use strict'
// Loads the native addon. It links Debian's libnode (V8 10.2) while running inside this Node
// (its own V8): opened the usual way, the addon's V8 calls bind to Node's V8 and the process
// aborts. RTLD_DEEPBIND makes the addon and libnode look up symbols in their own dependencies
// first. The README's "How it loads" section has the measurements.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ADDON = 'worker-runtime.node'

function addonPath() {
  const override = process.env.WORKER_RUNTIME_ADDON
  if (override) return path.resolve(override)
  return path.join(__dirname, '..', ADDON)
}

function load() {
  const file = addonPath()
  if (!fs.existsSync(file)) {
    throw new Error(
      `worker-runtime: the native addon ${file} is missing; build it with \`npm run build\` ` +
        'in the package directory (needs Rust and libnode; see README.md)'
    )
  }
  const { RTLD_NOW, RTLD_DEEPBIND } = os.constants.dlopen
  if (RTLD_DEEPBIND === undefined) {
    throw new Error('worker-runtime: this platform has no RTLD_DEEPBIND; only Linux (glibc) is supported')
  }
  const module = { exports: {} }
  process.dlopen(module, file, RTLD_NOW | RTLD_DEEPBIND)
  return module.exports
}

module.exports = load()
