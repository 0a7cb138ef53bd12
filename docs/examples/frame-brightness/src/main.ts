// node dist/src/main.js [SOURCE]: prints the brightness of every 10th frame for 5 seconds.
import { startBrightnessApp } from './app.js'

const source = process.argv[2] ?? 'synthetic://?size=640x360&fps=30'
const app = startBrightnessApp(source, (b) => console.log(`frame ${b.seq}: ${b.width}x${b.height} mean luma ${b.mean.toFixed(1)}`))
setTimeout(() => void app.stop(), 5000)
