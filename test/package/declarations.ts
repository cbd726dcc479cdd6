/**
 * What a rolled-up declaration file declares, read with the TypeScript
 * compiler: the names it exports, and the declarations it holds without
 * exporting them. The latter are types a user reaches from the entry (as the
 * type of an option, a return value...) but cannot name from it.
 */
import ts from 'typescript';

export interface Declared {
  /** Names in the file's `export { ... }` lists. */
  exported: string[];
  /** Top-level declarations not exported, as `name` (rollup-plugin-dts' `$1` suffixes removed). */
  unexported: string[];
  /** Names of `const enum` declarations, exported or not. */
  constEnums: string[];
}

export function declared(fileName: string, text: string): Declared {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const exported = new Set<string>();
  const local: string[] = [];
  const constEnums: string[] = [];
  for (const st of sf.statements) {
    if (ts.isExportDeclaration(st)) {
      if (st.exportClause !== undefined && ts.isNamedExports(st.exportClause)) for (const e of st.exportClause.elements) exported.add(e.name.text);
      continue;
    }
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st) || ts.isExportAssignment(st)) continue;
    const names = ts.isVariableStatement(st) ? st.declarationList.declarations.map((d) => d.name.getText(sf)) : [(st as ts.DeclarationStatement).name?.getText(sf) ?? `<${ts.SyntaxKind[st.kind]}>`];
    if (ts.isEnumDeclaration(st) && ts.getCombinedModifierFlags(st) & ts.ModifierFlags.Const) constEnums.push(...names);
    const exportedInline = ts.canHaveModifiers(st) && (ts.getModifiers(st) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    for (const name of names) {
      if (exportedInline) exported.add(name);
      else local.push(name);
    }
  }
  return {
    exported: [...exported].sort(),
    unexported: local.filter((n) => !exported.has(n)).map((n) => n.replace(/\$\d+$/, '')).sort(),
    constEnums: constEnums.sort(),
  };
}
