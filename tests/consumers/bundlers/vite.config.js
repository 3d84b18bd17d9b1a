// `vite` (dev) sends /api to the proxy, as a real app's dev setup does; `vite build` needs nothing.
export default { server: { proxy: { "/api": process.env.RUNBASE_PROXY ?? "http://127.0.0.1:8080" } } };
