//! Small but real PDF documents for the demo city's files: one A4 page of
//! Helvetica text, with WinAnsi encoding so umlauts print.

/// A one-page PDF showing a title and lines of text.
pub fn document(title: &str, lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT /F1 16 Tf 56 780 Td ");
    content.push_str(&format!("({}) Tj /F1 11 Tf 0 -28 Td ", escape(title)));
    for line in lines {
        content.push_str(&format!("({}) Tj 0 -15 Td ", escape(line)));
    }
    content.push_str("ET");
    let content = to_win_ansi(&content);

    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content,
            b"\nendstream".to_vec(),
        ]
        .concat(),
    ];
    assemble(&objects)
}

/// A PDF file of these objects (numbered from 1; the first is the
/// catalog), with its cross-reference table and trailer.
pub fn assemble(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)")
}

/// Latin-1 covers the German letters; anything else becomes `?`.
fn to_win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '–' => 0x96,
            '„' => 0x84,
            '“' => 0x93,
            c if (c as u32) < 256 => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn xref_points_at_objects() {
        let pdf = super::document("Übersicht", &["Straße 1".into()]);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let pos = pdf.windows(10).rposition(|w| w == b"startxref\n").unwrap();
        let tail = std::str::from_utf8(&pdf[pos + 10..]).unwrap();
        let start: usize = tail.lines().next().unwrap().parse().unwrap();
        let xref = std::str::from_utf8(&pdf[start..pos]).unwrap();
        assert!(xref.starts_with("xref"));
        let offset: usize = xref.lines().nth(3).unwrap()[..10].parse().unwrap();
        assert!(pdf[offset..].starts_with(b"1 0 obj"));
    }
}
