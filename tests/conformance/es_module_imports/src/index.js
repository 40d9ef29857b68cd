// A worker split across modules: relative imports, nested directories, text/JSON/data modules
// and a dynamic import.
import { greet, VERSION } from "./lib/greet.js";
import * as math from "./lib/math.mjs";
import banner from "./lib/banner.txt";
import settings from "./lib/settings.json";
import blob from "./lib/data.bin";

export default {
  async fetch(request) {
    const { shout } = await import("./lib/shout.js");
    return Response.json({
      greet: greet("wk"),
      version: VERSION,
      sum: math.add(2, 3),
      banner: banner.trim(),
      settings,
      dataBytes: Array.from(new Uint8Array(blob)),
      dataIsArrayBuffer: blob instanceof ArrayBuffer,
      shout: shout("dynamic"),
    });
  },
};
