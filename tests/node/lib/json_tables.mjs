// json_tables.mjs: what a model reads in a SmartCrusher output, for needle checks. The
// crusher writes similar objects as {"[columns]":[...],"[rows]":[...]} (src/compress/
// json_table.h); readable() turns those back into the objects they came from (the JS twin
// of hr_json_table_expand), so a needle like '"order_id":700061' is found whether its item
// was kept as an object or as a table row. Gap markers stay where they are.

function cellsToObject(cols, cells) {
  const o = {};
  cols.forEach((c, i) => {
    if (typeof c === 'string') o[c] = expandTables(cells[i]);
    else {
      const [k] = Object.keys(c); // {"key":[sub-columns]}: a flattened object
      o[k] = cellsToObject(c[k], cells[i]);
    }
  });
  return o;
}

function expandTable(cols, rows) {
  if (cols[0] !== '[key]') return rows.map((r) => (Array.isArray(r) ? cellsToObject(cols, r) : expandTables(r)));
  const o = {};
  for (const r of rows) {
    if (Array.isArray(r)) o[r[0]] = cellsToObject(cols.slice(1), r.slice(1));
    else if (typeof r === 'string') o[r] = null; // a gap marker
    else {
      const { '[key]': k, ...rest } = r;
      o[k] = '[value]' in rest ? expandTables(rest['[value]']) : expandTables(rest);
    }
  }
  return o;
}

export function expandTables(v) {
  if (Array.isArray(v)) return v.map(expandTables);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 2 && keys[0] === '[columns]' && keys[1] === '[rows]' &&
        Array.isArray(v['[columns]']) && Array.isArray(v['[rows]'])) return expandTable(v['[columns]'], v['[rows]']);
    const o = {};
    for (const k of keys) o[k] = expandTables(v[k]);
    return o;
  }
  return v;
}

/** The output with its JSON part's tables expanded (minified); other text as it is. */
export function readable(text) {
  const m = text.match(/\n\[\d+ \w+ compressed to \d+\. Retrieve more: hash=[0-9a-f]{24}\]/);
  const json = m ? text.slice(0, m.index) : text;
  try {
    return JSON.stringify(expandTables(JSON.parse(json))) + (m ? text.slice(m.index) : '');
  } catch {
    return text;
  }
}
