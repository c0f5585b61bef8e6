/** Each language fixture's symbols (test/fixtures/context) as "kind name start-end", in line order: what the AST walk must give, exactly. */
export const EXPECTED: Record<string, string[]> = {
  'sample.rs': [
    'constant MAX_POINTS 5-5', 'constant GREETING 6-6', 'type Coord 8-8', 'struct Point 10-14', 'enum Shape 16-19',
    'trait Area 21-26', 'method area 22-22', 'method describe 23-25', 'method area 29-34', 'module util 37-41',
    'function clamp 38-40', 'function main 43-45',
  ],
  'sample.py': [
    'constant MAX_ITEMS 5-5', 'class Item 9-20', 'method __init__ 12-13', 'method label 15-17', 'class Meta 19-20',
    'function load 23-27', 'function fetch_all 30-31',
  ],
  'sample.ts': [
    'constant MAX_RETRIES 4-4', 'type TaskId 7-7', 'interface Task 9-12', 'enum Priority 14-17', 'class Queue 19-27',
    'method push 22-24', 'method drain 26-26', 'function createTask 29-31', 'function retry 33-35', 'module Internal 37-41',
    'function helper 38-40',
  ],
  'sample.tsx': ['interface ButtonProps 4-6', 'function Button 8-10', 'function Badge 12-12', 'class Panel 14-18', 'method render 15-17'],
  'sample.js': [
    'constant DEFAULT_TIMEOUT 2-2', 'function debounce 4-10', 'class Emitter 12-24', 'method constructor 13-15',
    'method on 17-19', 'method create 21-23', 'function once 26-29', 'function ids 31-33',
  ],
  'sample.go': [
    'constant MaxSides 6-6', 'constant Red 9-9', 'constant Green 10-10', 'type Color 13-13', 'struct Polygon 15-18',
    'interface Shape 20-22', 'function NewPolygon 24-26', 'method Area 28-30', 'method String 32-34',
  ],
  'Sample.java': [
    'class Sample 6-28', 'constant LIMIT 7-7', 'method Sample 10-12', 'method getCount 14-16', 'interface Visitor 18-20',
    'method visit 19-19', 'enum Kind 22-25', 'class Pair 27-27',
  ],
  'sample.c': [
    'constant RING_SIZE 4-4', 'type u32 6-6', 'struct ring 8-12', 'type point_t 14-16', 'enum color 18-21',
    'function ring_full 23-25', 'function ring_alloc 27-30',
  ],
  'sample.cpp': [
    'module linalg 4-39', 'constant kMaxDim 6-6', 'type Row 8-8', 'struct Dim 10-13', 'enum Order 15-15',
    'class Matrix 17-26', 'method Matrix 19-19', 'method at 20-20', 'method size 21-21', 'method Matrix 28-28',
    'method size 30-32', 'function identity 34-37',
  ],
  'sample.rb': [
    'module Billing 2-20', 'constant RATE 3-3', 'class Invoice 5-19', 'method initialize 8-10', 'method empty 12-14',
    'method tax 16-18', 'function helper 22-24',
  ],
  'sample.ex': [
    'module Shop.Cart 2-22', 'struct Shop.Cart 5-5', 'type item 7-7', 'function new 9-9', 'function add 11-13',
    'function sum 15-17', 'function debug 19-21', 'interface Shop.Priced 24-26', 'function price 25-25',
  ],
};

export const show = (symbols: { name: string; kind: string; line_start: number; line_end: number }[]): string[] =>
  symbols.map((s) => `${s.kind} ${s.name} ${s.line_start}-${s.line_end}`);
