// Kept in its own module to show that relative imports work without a bundler.
export function describe(request, body) {
  const lines = [`${request.method} ${request.url}`];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  lines.push("", body);
  return lines.join("\n");
}
