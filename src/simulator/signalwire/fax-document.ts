/**
 * Fax documents: blank PDFs of a given page count (what a received fax's `document` URL serves), and the
 * page count of a PDF we are asked to send, so a fax has as many pages as its document.
 */

const LETTER = '[0 0 612 792]';

/** A minimal, well-formed PDF 1.4 with `pages` blank US-letter pages. */
export function blankPdf(pages: number): Buffer {
  const count = Math.max(1, Math.floor(pages));
  const pageIds = Array.from({ length: count }, (_, i) => i + 3);
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${count} >>`,
    ...pageIds.map(() => `<< /Type /Page /Parent 2 0 R /MediaBox ${LETTER} /Resources << >> >>`),
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/** Pages of a PDF (its `/Type /Page` objects); undefined for anything that is not a readable PDF. */
export function pdfPageCount(bytes: Buffer): number | undefined {
  const text = bytes.toString('latin1');
  if (!text.startsWith('%PDF-')) return undefined;
  const pages = text.match(/\/Type\s*\/Page(?![A-Za-z])/g)?.length ?? 0;
  return pages > 0 ? pages : undefined;
}
