/**
 * Orders enriched by joins: each order with its payment (a stream-stream join: the payment
 * must come within 15 minutes after the order), its product (a global table, looked up by
 * the order's SKU), and its customer (users left-joined with their tiers: a table-table
 * join); and the orders left unpaid, once 15 minutes (and a minute's grace) have passed
 * without a payment (a left join emits an unmatched order only when nothing can join it).
 */
import { joinWindows, TopologyBuilder, type BuiltTopology } from '../../topology/index.js';

export const applicationId = 'orders';

export interface Order {
  user: string;
  sku: string;
  qty: number;
}
export interface Payment {
  amount: number;
}
export interface Product {
  name: string;
}
export interface User {
  name: string;
}
export interface Tier {
  tier: string;
}

const J = { key: 'string', value: 'json' } as const;
const MINUTE = 60_000;

export function ordersTopology(): TopologyBuilder {
  const b = new TopologyBuilder('orders');
  const products = b.globalTable<string, Product>('products', J, { name: 'products' });
  const users = b.table<string, User>('users', J, { name: 'users' });
  const tiers = b.table<string, Tier>('tiers', J, { name: 'tiers' });
  const customers = users.leftJoin(
    tiers,
    (u, t) => ({ name: u.name, tier: t?.tier ?? 'basic' }),
    'customers',
  );
  const orders = b.stream<string, Order>('orders', J, 'orders'); // keyed by order id
  const payments = b.stream<string, Payment>('payments', J, 'payments'); // keyed by order id
  const within = joinWindows({ beforeMs: 0, afterMs: 15 * MINUTE }, MINUTE);
  orders
    .join(payments, (o, p) => ({ ...o, paid: p.amount }), within, { name: 'paid' })
    .join(
      products,
      (_id, o) => o.sku,
      (o, p) => ({ ...o, product: p.name }),
      'with-product',
    )
    .selectKey((r) => r.value.user, 'by-customer') // a repartition topic follows
    .join(customers, (o, c) => ({ ...o, customer: c.name, tier: c.tier }), 'with-customer')
    .to('orders-paid', J, 'paid-out');
  orders
    .leftJoin(payments, (o, p) => (p === null ? o : null), within, { name: 'unpaid' })
    .filter((r) => r.value !== null, 'only-unpaid')
    .to('orders-unpaid', J, 'unpaid-out');
  return b;
}

/** For `millrace describe|diagram|run examples/topologies/orders.ts`. */
export function topology(): BuiltTopology {
  return ordersTopology().build(applicationId);
}
