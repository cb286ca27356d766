// A time-series chart (uPlot): x is Unix seconds, one or more y series.
// It follows its container's width and the theme's colours (CSS custom
// properties --chart-1.. --chart-4, --fg-muted, --grid).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** 1-4: which --chart-N colour. */
  color?: number;
}

export interface ChartProps {
  /** Accessible name; the chart is an image with this label. */
  title: string;
  series: ChartSeries[];
  /** [xs, ys1, ys2, …], xs in Unix seconds, ascending. */
  data: (number | null)[][];
  /** Formats a y value for the axis and the legend. */
  format?: (v: number) => string;
  height?: number;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function Chart({ title, series, data, format = (v) => String(v), height = 180 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const fmtRef = useRef(format);
  fmtRef.current = format;

  useEffect(() => {
    const el = box.current!;
    const axis = { stroke: cssVar('--fg-muted', '#666'), grid: { stroke: cssVar('--grid', '#ddd'), width: 1 }, ticks: { stroke: cssVar('--grid', '#ddd') } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 84, values: (_u, vals) => vals.map((v) => fmtRef.current(v)) }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: cssVar(`--chart-${s.color ?? i + 1}`, '#2563eb'),
          width: 1.5,
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : fmtRef.current(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The theme is read at creation: a theme switch re-keys the chart (dashboard).
  }, [series.map((s) => s.label).join('|'), height]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}
