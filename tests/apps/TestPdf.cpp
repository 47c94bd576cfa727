// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestPdf.h"

#include <QList>

QByteArray pdfWithPages(const QStringList &words)
{
    // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content for each word.
    QList<QByteArray> objects;
    QByteArray kids;
    for (qsizetype page = 0; page < words.size(); ++page) {
        kids += QByteArray::number(4 + 2 * page) + " 0 R ";
    }
    objects.append("<< /Type /Catalog /Pages 2 0 R >>");
    objects.append("<< /Type /Pages /Kids [" + kids.trimmed() + "] /Count " + QByteArray::number(words.size()) + " >>");
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>");
    for (qsizetype page = 0; page < words.size(); ++page) {
        const QByteArray content = "BT /F1 90 Tf 40 680 Td (" + words[page].toLatin1() + ") Tj ET";
        objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents "
                       + QByteArray::number(5 + 2 * page) + " 0 R >>");
        objects.append("<< /Length " + QByteArray::number(content.size()) + " >>\nstream\n" + content + "\nendstream");
    }

    QByteArray pdf = "%PDF-1.4\n";
    QList<qsizetype> offsets;
    for (qsizetype index = 0; index < objects.size(); ++index) {
        offsets.append(pdf.size());
        pdf += QByteArray::number(index + 1) + " 0 obj\n" + objects[index] + "\nendobj\n";
    }
    const qsizetype xref = pdf.size();
    pdf += "xref\n0 " + QByteArray::number(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (const qsizetype offset : offsets) {
        pdf += QByteArray::number(offset).rightJustified(10, '0') + " 00000 n \n";
    }
    pdf += "trailer\n<< /Size " + QByteArray::number(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" + QByteArray::number(xref) + "\n%%EOF\n";
    return pdf;
}
