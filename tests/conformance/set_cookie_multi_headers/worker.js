// Several Set-Cookie headers must reach the client as separate header lines, and other
// repeated headers combine with ", ".
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const headers = new Headers();
    headers.append("Set-Cookie", "session=abc; Path=/; HttpOnly");
    headers.append("Set-Cookie", "theme=dark; Max-Age=3600");
    headers.append("Set-Cookie", "lang=en, fr; Path=/");
    headers.append("X-Multi", "one");
    headers.append("X-Multi", "two");
    headers.set("Content-Type", "text/plain");
    if (url.pathname === "/inspect") {
      return Response.json({
        getSetCookie: headers.getSetCookie(),
        get: headers.get("set-cookie"),
        multi: headers.get("x-multi"),
        has: headers.has("SET-COOKIE"),
      });
    }
    return new Response("cookies", { headers });
  },
};
