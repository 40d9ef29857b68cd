// Base64 helpers and their errors.
export default {
  async fetch() {
    let btoaError = null;
    try {
      btoa("✓");
    } catch (e) {
      btoaError = e.name;
    }
    let atobError = null;
    try {
      atob("a");
    } catch (e) {
      atobError = e.name;
    }
    return Response.json({
      encoded: btoa("hello world"),
      decoded: atob("aGVsbG8gd29ybGQ="),
      latin1: btoa("\u00ff\u00fe"),
      latin1Back: Array.from(atob("//4="), (c) => c.charCodeAt(0)),
      noPadding: atob("aGk"),
      whitespace: atob(" aG Vs\nbG8= "),
      empty: btoa(""),
      btoaError,
      atobError,
    });
  },
};
