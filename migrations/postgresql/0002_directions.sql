-- PostgreSQL version of migrations/0002_directions.sql (same number; docs/architecture.md says how they pair).
-- The city's strategic directions under the four pillars (产业为基, 创新为魂, 开放为翼, 民生为本),
-- plus two boards for daily life and the environment.
INSERT INTO directions (slug, name, description, pillar, position) VALUES
 ('business-environment', '营商环境（最佳口碑）', '让办事更快、规则更明、企业更安心，把好口碑变成吸引投资的金字招牌。', 'industry', 10),
 ('logistics-hub', '港口型国家物流枢纽', '以港兴城，港航、铁路、公路联动，让货物进得来、出得去、成本更低。', 'industry', 20),
 ('strategic-reserve', '战略物资储备和产业备份基地', '为国家储备关键物资、备份重要产能，筑牢产业链供应链的安全底座。', 'industry', 30),
 ('new-energy-hub', '新能源产运储销用枢纽', '风电、光伏、氢能与储能协同发展，让绿色电力生产、运输、储存、销售、使用连成一体。', 'industry', 40),
 ('education-talent', '教育科技人才一体化改革', '让学校、科研和产业握手，留住青年人才，让创新成果在本地落地。', 'innovation', 50),
 ('port-industry-city', '港产城融创发展', '港口、产业、城市相互成就，让临港产业带动就业，让城市功能服务产业。', 'innovation', 60),
 ('finance-center', '金融服务中心', '让金融活水流向实体经济，为中小企业和创业者提供更便利的融资服务。', 'opening', 70),
 ('open-cooperation', '开放合作集聚区', '向海图强、内外联动，让更多企业、项目和人才在这里相遇合作。', 'opening', 80),
 ('rural-revitalization', '乡村全面振兴', '产业兴旺、乡村宜居、农民增收，让乡亲们在家门口过上好日子。', 'livelihood', 90),
 ('silver-economy', '银发经济先行区', '让老年人老有所养、老有所乐，也让养老服务成为新的产业增长点。', 'livelihood', 100),
 ('wellbeing', '民生福祉', '就业、就医、上学、出行、住房——写下身边的日常，和你对更好生活的期待。', 'livelihood', 110),
 ('ecology', '生态宜居', '蓝天碧水、公园绿道、河湖海岸，写下你心中更美的城市家园。', 'livelihood', 120);
