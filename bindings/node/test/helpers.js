'use strict'
// Stores written in JS for the tests: a KV namespace on a Map, in a synchronous and an
// asynchronous flavour, as a host would write them.
const { compareKeys } = require('..')

/** A KV namespace on a Map. Expired keys are invisible; list pages by the last key returned. */
class MapKv {
  constructor() {
    this.map = new Map()
    this.calls = []
  }

  live(entry) {
    return entry && !(entry.expiration <= Date.now() / 1000)
  }

  get(key) {
    this.calls.push(['get', key])
    const e = this.map.get(key)
    return this.live(e) ? e : null
  }

  put(key, value, { expiration, metadata } = {}) {
    this.calls.push(['put', key])
    this.map.set(key, { value, expiration, metadata })
  }

  delete(key) {
    this.calls.push(['delete', key])
    this.map.delete(key)
  }

  list({ prefix, limit, cursor }) {
    this.calls.push(['list', prefix])
    const names = [...this.map.keys()]
      .filter((k) => k.startsWith(prefix) && this.live(this.map.get(k)))
      .filter((k) => cursor === undefined || compareKeys(k, cursor) > 0)
      .sort(compareKeys)
    const page = names.slice(0, limit)
    const keys = page.map((name) => {
      const { expiration, metadata } = this.map.get(name)
      return { name, expiration, metadata }
    })
    const complete = page.length === names.length
    return { keys, list_complete: complete, cursor: complete ? undefined : page[page.length - 1] }
  }
}

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The same namespace answering through promises, each after `delayMs`. */
class AsyncMapKv extends MapKv {
  constructor(delayMs = 0) {
    super()
    this.delayMs = delayMs
  }
  async get(key) {
    await tick(this.delayMs)
    return super.get(key)
  }
  async put(key, value, options) {
    await tick(this.delayMs)
    return super.put(key, value, options)
  }
  async delete(key) {
    await tick(this.delayMs)
    return super.delete(key)
  }
  async list(options) {
    await tick(this.delayMs)
    return super.list(options)
  }
}

module.exports = { MapKv, AsyncMapKv, tick }
