-- PostgreSQL dialect of migrations/0021_revision_reasons.sql (the same SQL).
-- Ready-made reasons for returning an essay for revision (issue 16), kept with the rejection reasons
-- and edited on the same admin page: a reason is for 'reject' or for 'revise'. Portable SQL only.
ALTER TABLE rejection_reasons ADD COLUMN kind TEXT NOT NULL DEFAULT 'reject' CHECK (kind IN ('reject', 'revise'));
INSERT INTO rejection_reasons (label, position, kind) VALUES
 ('请修正文中的错字和标点', 110, 'revise'),
 ('请重新分段：有的段落断在句子中间', 120, 'revise'),
 ('请补充具体的经历或事例', 130, 'revise'),
 ('请把篇幅压缩到 500 字左右', 140, 'revise'),
 ('请删去文中的个人联系方式', 150, 'revise'),
 ('请核对文中的数据和事实', 160, 'revise')
ON CONFLICT (label) DO NOTHING;
