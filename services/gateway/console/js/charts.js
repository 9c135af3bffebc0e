// Line charts over time with uPlot (the pinned npm package, served by the gateway): one chart per figure,
// rebuilt when its series change and otherwise only given new data. Labels reach uPlot as plain strings,
// which it sets with textContent.

import uPlot from '/console/vendor/uPlot.esm.js';
import { el } from './dom.js';

const COLOURS = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4b5563',
];

export class LineChart {
  /** `unit` is shown on the y axis and in the legend values. */
  constructor(title, unit) {
    this.title = title;
    this.unit = unit;
    this.node = el('figure', { class: 'chart', data: { chart: title } });
    this.plot = null;
    this.labels = '';
  }

  update({ labels, data }) {
    const key = labels.join('\u0000');
    const width = Math.max(320, (this.node.clientWidth || 480) - 8);
    if (this.plot === null || key !== this.labels) {
      this.plot?.destroy();
      this.labels = key;
      const unit = this.unit;
      this.plot = new uPlot(
        {
          title: this.title,
          width,
          height: 220,
          series: [
            {},
            ...labels.map((label, i) => ({
              label,
              stroke: COLOURS[i % COLOURS.length],
              width: 2,
              spanGaps: false,
              value: (_u, v) =>
                v === null || v === undefined ? '—' : `${v.toFixed(v < 10 ? 2 : 0)} ${unit}`,
            })),
          ],
          axes: [{}, { label: unit, size: 60 }],
          scales: { x: { time: true } },
          legend: { live: false },
        },
        data,
        this.node,
      );
    } else {
      this.plot.setData(data);
      if (Math.abs(this.plot.width - width) > 8) this.plot.setSize({ width, height: 220 });
    }
  }

  destroy() {
    this.plot?.destroy();
    this.plot = null;
  }
}
