// The reports' chart: answered, abandoned and other missed calls as stacked bars (together the
// calls), the answer rate as a line on its own axis. Chart.js comes from its lazy chunk.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { loadChart, useChartRefs } from './useChart.js';

const COLORS = {
  answered: '#2e9d5b',
  abandoned: '#d99a1e',
  missed: '#c9453b',
  rate: '#1f5f99',
};

/** points: [{label, answered, missed, abandoned, calls}] (missed includes abandoned). */
function chartData(points) {
  return {
    labels: points.map((point) => point.label),
    datasets: [
      {
        type: 'bar',
        label: t('reports.chart_answered'),
        data: points.map((point) => point.answered),
        backgroundColor: COLORS.answered,
        stack: 'calls',
        yAxisID: 'y',
        order: 2,
      },
      {
        type: 'bar',
        label: t('reports.chart_abandoned'),
        data: points.map((point) => point.abandoned),
        backgroundColor: COLORS.abandoned,
        stack: 'calls',
        yAxisID: 'y',
        order: 2,
      },
      {
        type: 'bar',
        label: t('reports.chart_missed_other'),
        data: points.map((point) => Math.max(0, point.missed - point.abandoned)),
        backgroundColor: COLORS.missed,
        stack: 'calls',
        yAxisID: 'y',
        order: 2,
      },
      {
        type: 'line',
        label: t('reports.chart_answer_rate'),
        data: points.map((point) =>
          point.calls ? Math.round((point.answered / point.calls) * 1000) / 10 : null,
        ),
        borderColor: COLORS.rate,
        backgroundColor: COLORS.rate,
        yAxisID: 'rate',
        spanGaps: true,
        tension: 0,
        order: 1,
      },
    ],
  };
}

export function ReportChart({ points, label, lang }) {
  const [canvas, chart] = useChartRefs();
  const [drawn, setDrawn] = useState(null);
  const key = `${lang}:${JSON.stringify(points)}`; // labels follow the language
  useEffect(() => {
    let cancelled = false;
    loadChart().then((Chart) => {
      if (cancelled || !canvas.current) return;
      const data = chartData(points);
      // rebuilt rather than updated: the axis titles are in the options, in the language
      if (chart.current) chart.current.destroy();
      chart.current = new Chart(canvas.current, {
        type: 'bar',
        data,
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          scales: {
            x: { stacked: true },
            y: {
              stacked: true,
              beginAtZero: true,
              ticks: { precision: 0 },
              title: { display: true, text: t('reports.chart_calls') },
            },
            rate: {
              position: 'right',
              min: 0,
              max: 100,
              grid: { drawOnChartArea: false },
              title: { display: true, text: t('reports.chart_rate_axis') },
            },
          },
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        },
      });
      setDrawn(key);
    });
    return () => {
      cancelled = true;
    };
  }, [key]);
  return (
    <div class="chart report-chart" data-testid="report-chart" data-drawn={drawn === key ? 'true' : 'false'}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
