// What both charts need: Chart.js from its own chunk (charts.js, loaded by the first chart
// drawn) and a chart that goes with its component.
import { useEffect, useRef } from 'preact/hooks';

let chartModule = null;

/** Chart.js's Chart class, from the lazy chunk (loaded once). */
export function loadChart() {
  if (!chartModule) chartModule = import('../charts.js').then((mod) => mod.Chart);
  return chartModule;
}

/** [canvas, chart] refs: the <canvas> to draw on and the Chart, destroyed on unmount. */
export function useChartRefs() {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(
    () => () => {
      if (chart.current) chart.current.destroy();
      chart.current = null;
    },
    [],
  );
  return [canvas, chart];
}
