// Blob and File: sizes, types, slicing, reading, and Blob bodies.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const blob = new Blob(["ab", new Uint8Array([99, 100]), new Blob(["é"])], { type: "Text/Plain" });
    if (url.pathname === "/body") {
      return new Response(new Blob(["<p>blob body</p>"], { type: "text/html" }));
    }
    const slice = blob.slice(1, 3, "application/x-slice");
    const file = new File(["file content"], "report.txt", { type: "text/plain", lastModified: 1700000000000 });
    return Response.json({
      size: blob.size,
      type: blob.type,
      text: await blob.text(),
      bytes: Array.from(new Uint8Array(await blob.arrayBuffer())),
      slice: [await slice.text(), slice.type, slice.size],
      negativeSlice: await blob.slice(-2).text(),
      file: [file.name, file.type, file.size, file.lastModified, file instanceof Blob],
      streamed: await new Response(blob.stream()).text(),
      empty: [new Blob().size, new Blob().type],
    });
  },
};
