// The parts of Chart.js the console uses, registered once. Imported lazily (its own chunk):
// only pages that draw a chart pay for it. Add controllers/elements here as pages need them.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Legend,
  LinearScale,
  LineController, // reports: the answer rate over the bars
  LineElement,
  PointElement,
  Tooltip,
);

export { Chart };
