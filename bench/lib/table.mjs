// SPDX-License-Identifier: Apache-2.0
// Formatting: rates, ratios and a padded markdown table (readable in a terminal and in BENCHMARKS.md).

export function fmtRate(v, unit) {
  if (v == null || !Number.isFinite(v)) return '—';
  if (unit === 'µs') return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

export function fmtRatio(r) {
  if (r == null || !Number.isFinite(r)) return '—';
  return (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + '×';
}

export function fmtPct(p) {
  return p == null || !Number.isFinite(p) ? '—' : `${Math.round(p)}%`;
}

/** rows: arrays of strings; align: 'l' | 'r' per column. */
export function markdownTable(header, rows, align) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const pad = (s, i) => (align[i] === 'r' ? String(s).padStart(w[i]) : String(s).padEnd(w[i]));
  const line = (cells) => `| ${cells.map(pad).join(' | ')} |`;
  const sep = `|${w.map((n, i) => (align[i] === 'r' ? '-'.repeat(n + 1) + ':' : '-'.repeat(n + 2))).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}
