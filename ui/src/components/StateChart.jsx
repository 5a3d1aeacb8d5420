// A doughnut of counts per state, drawn by Chart.js (loaded on first use, its own chunk).
import { useEffect } from 'preact/hooks';
import { loadChart, useChartRefs } from './useChart.js';

const COLORS = {
  logged_out: '#b8bec6',
  idle: '#2e9d5b',
  paused: '#d99a1e',
  ringing: '#2f7fd1',
  on_call: '#c9453b',
  wrapup: '#8a5cc2',
};

/** counts: [{state, label, count}] */
export function StateChart({ counts, label }) {
  const [canvas, chart] = useChartRefs();
  useEffect(() => {
    let cancelled = false;
    loadChart().then((Chart) => {
      if (cancelled || !canvas.current) return;
      const data = {
        labels: counts.map((entry) => entry.label),
        datasets: [
          {
            data: counts.map((entry) => entry.count),
            backgroundColor: counts.map((entry) => COLORS[entry.state] || '#999'),
            borderWidth: 1,
          },
        ],
      };
      if (chart.current) {
        chart.current.data = data;
        chart.current.update('none');
        return;
      }
      chart.current = new Chart(canvas.current, {
        type: 'doughnut',
        data,
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          cutout: '55%',
          plugins: { legend: { position: 'right', labels: { boxWidth: 12 } } },
        },
      });
    });
    return () => {
      cancelled = true;
    };
  }, [JSON.stringify(counts)]);
  return (
    <div class="chart" data-testid="state-chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
