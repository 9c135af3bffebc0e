// Guest runtime, part 1a: how util.inspect lays out the entries of an object or array, copied in behaviour from
// Node (short lists on one line, long number arrays in aligned columns, the rest one entry per line).
// Runs inside the isolate only and must never call into the host.
(function installInspectLayout(runtime) {
  const { defineProperty } = Reflect;
  const { min, max, round, sqrt, floor } = Math;
  const BREAK_LENGTH = 80;

  function groupArrayElements(ctx, output, value) {
    let totalLength = 0;
    let maxLength = 0;
    let outputLength = output.length;
    if (output[outputLength - 1]?.startsWith('... ')) outputLength -= 1;
    const dataLen = [];
    for (let i = 0; i < outputLength; i += 1) {
      const len = output[i].length;
      dataLen.push(len);
      totalLength += len + 2;
      if (maxLength < len) maxLength = len;
    }
    const actualMax = maxLength + 2;
    if (
      actualMax * 3 + ctx.indentationLvl < BREAK_LENGTH &&
      (totalLength / actualMax > 5 || maxLength <= 6)
    ) {
      const averageBias = sqrt(actualMax - totalLength / output.length);
      const biasedMax = max(actualMax - 3 - averageBias, 1);
      const columns = min(
        round(sqrt(2.5 * biasedMax * outputLength) / biasedMax),
        floor((BREAK_LENGTH - ctx.indentationLvl) / actualMax),
        12,
        15,
      );
      if (columns <= 1) return output;
      const maxLineLength = [];
      for (let i = 0; i < columns; i += 1) {
        let lineLength = 0;
        for (let j = i; j < outputLength; j += columns) if (dataLen[j] > lineLength) lineLength = dataLen[j];
        maxLineLength.push(lineLength + 2);
      }
      let padStart = value !== undefined;
      for (let i = 0; padStart && i < outputLength; i += 1) {
        if (typeof value[i] !== 'number' && typeof value[i] !== 'bigint') padStart = false;
      }
      const grouped = [];
      for (let i = 0; i < outputLength; i += columns) {
        const last = min(i + columns, outputLength) - 1;
        let str = '';
        for (let j = i; j < last; j += 1) {
          const cell = `${output[j]}, `;
          str += padStart ? cell.padStart(maxLineLength[j - i]) : cell.padEnd(maxLineLength[j - i]);
        }
        str += padStart ? output[last].padStart(maxLineLength[last - i] - 2) : output[last];
        grouped.push(str);
      }
      if (outputLength < output.length) grouped.push(output[outputLength]);
      return grouped;
    }
    return output;
  }

  function reduceToSingleString(ctx, output, base, braces, list, recurse, value) {
    const entries = output.length;
    const lines = list && entries > 6 ? groupArrayElements(ctx, output, value) : output;
    if (ctx.currentDepth - recurse < 3 && entries === lines.length) {
      const start = lines.length + ctx.indentationLvl + braces[0].length + base.length + 10;
      let total = lines.length + start;
      let fits = total + lines.length <= BREAK_LENGTH;
      for (let i = 0; fits && i < lines.length; i += 1) {
        total += lines[i].length;
        if (total > BREAK_LENGTH) fits = false;
      }
      if (fits && !base.includes('\n')) {
        const joined = lines.join(', ');
        if (!joined.includes('\n')) return `${base ? `${base} ` : ''}${braces[0]} ${joined} ${braces[1]}`;
      }
    }
    const indentation = `\n${' '.repeat(ctx.indentationLvl)}`;
    const body = lines.join(`,${indentation}  `);
    return `${base ? `${base} ` : ''}${braces[0]}${indentation}  ${body}${indentation}${braces[1]}`;
  }

  defineProperty(runtime, 'reduceToSingleString', { value: reduceToSingleString });
});
